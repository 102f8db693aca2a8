"""Block Kit as the terminal shows it: one message at a time, its buttons numbered within it."""

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console as Terminal
from rich.text import Text

from bot.console.mrkdwn import Names, to_text

BUTTON_STYLE = "bold magenta"
HEADER_STYLE = "bold underline"
CONTEXT_STYLE = "dim"


@dataclass(frozen=True)
class Origin:
    """Where a message lives: its channel and response_url, or the Home tab."""

    channel_id: str | None
    response_url: str | None = None
    in_home: bool = False


@dataclass(frozen=True)
class Button:
    """A button shown in a message, with what clicking it needs."""

    element: dict[str, Any]
    origin: Origin


@dataclass
class Shown:
    """The messages shown so far that have buttons, by number."""

    messages: dict[int, list[Button]] = field(default_factory=dict)
    count: int = 0

    def newest(self) -> int | None:
        """Return the number of the newest message with buttons."""
        return max(self.messages) if self.messages else None

    def button(self, reference: str) -> Button | None:
        """Find `n` (the newest message's button n) or `m.n` (message m's button n)."""
        message_text, _, button_text = reference.rpartition(".")
        if not button_text.isdecimal() or (message_text and not message_text.isdecimal()):
            return None
        number = int(message_text) if message_text else self.newest()
        buttons = self.messages.get(number) if number is not None else None
        index = int(button_text) - 1
        return buttons[index] if buttons and 0 <= index < len(buttons) else None


class Renderer:
    """Print messages, views and files the way Slack would lay them out."""

    def __init__(self, terminal: Terminal, names: Names) -> None:
        self.terminal = terminal
        self.names = names
        self.shown = Shown()

    def message(self, label: str, message: dict[str, Any], origin: Origin) -> None:
        """Print a message under a label saying who sees it; number its buttons."""
        self.shown.count += 1
        number = self.shown.count
        buttons: list[Button] = []
        body = [self._block(block, origin, buttons) for block in message.get("blocks") or []]
        if not body:
            body = [self.mrkdwn(str(message.get("text", "")))]
        title = f"{label} · message {number}" if buttons else label
        self.terminal.rule(Text(title, style="bold"), style="dim", align="left")
        for renderable in body:
            if renderable is not None:
                self.terminal.print(renderable)
        if buttons:
            self.shown.messages[number] = buttons

    def blocks(self, blocks: list[dict[str, Any]]) -> None:
        """Print blocks that carry no buttons to click (a modal's text)."""
        for block in blocks:
            renderable = self._block(block, Origin(None), None)
            if renderable is not None:
                self.terminal.print(renderable)

    def file(self, label: str, name: str, content: str, comment: str, lines: int = 5) -> None:
        """Print a shared file: its name and size, then its first lines."""
        self.terminal.rule(Text(label, style="bold"), style="dim", align="left")
        if comment:
            self.terminal.print(self.mrkdwn(comment))
        size = len(content.encode())
        first = content.splitlines()
        self.terminal.print(Text(f"📄 {name} · {_size(size)} · {len(first)} lines", style="bold"))
        for line in first[:lines]:
            self.terminal.print(Text("  " + line, style="dim"), overflow="ellipsis", no_wrap=True)
        if len(first) > lines:
            self.terminal.print(Text(f"  … {len(first) - lines} more lines", style="dim"))

    def picture(self, label: str, name: str, path: str, size: int, comment: str) -> None:
        """Print a shared picture: its name, size and where the console saved it."""
        self.terminal.rule(Text(label, style="bold"), style="dim", align="left")
        if comment:
            self.terminal.print(self.mrkdwn(comment))
        self.terminal.print(Text(f"🖼 {name} · {_size(size)} · saved to {path}", style="bold"))

    def mrkdwn(self, text: str, style: str = "") -> Text:
        """Return mrkdwn as terminal text."""
        return to_text(text, self.names, style)

    def _block(
        self, block: dict[str, Any], origin: Origin, buttons: list[Button] | None
    ) -> Text | None:
        kind = block.get("type")
        if kind == "header":
            return Text(_plain(block.get("text")), style=HEADER_STYLE)
        if kind == "divider":
            return Text("┄" * 40, style=CONTEXT_STYLE)
        if kind == "context":
            parts = [self._element_text(e, CONTEXT_STYLE) for e in block.get("elements", [])]
            return Text("  ", style=CONTEXT_STYLE).join(parts)
        if kind == "section":
            return self._section(block, origin, buttons)
        if kind == "actions":
            return self._buttons(block.get("elements", []), block.get("block_id"), origin, buttons)
        if kind == "image":
            return Text(f"[image: {block.get('alt_text', '')}]", style=CONTEXT_STYLE)
        return None

    def _section(self, block: dict[str, Any], origin: Origin, buttons: list[Button] | None) -> Text:
        text = self._element_text(block.get("text") or {})
        for item in block.get("fields") or []:
            text.append("\n").append_text(self._element_text(item))
        accessory = block.get("accessory")
        if accessory:
            shown = self._buttons([accessory], block.get("block_id"), origin, buttons)
            if shown is not None:
                text.append("  ").append_text(shown)
        return text

    def _buttons(
        self,
        elements: list[dict[str, Any]],
        block_id: str | None,
        origin: Origin,
        buttons: list[Button] | None,
    ) -> Text | None:
        shown = []
        for element in elements:
            if element.get("type") != "button":
                continue
            label = _plain(element.get("text"))
            if buttons is None:
                shown.append(Text(f"[{label}]", style=BUTTON_STYLE))
                continue
            buttons.append(Button({**element, "block_id": block_id}, origin))
            style = {"primary": "bold green", "danger": "bold red"}.get(
                element.get("style", ""), BUTTON_STYLE
            )
            shown.append(Text(f"[{len(buttons)}] {label}", style=style))
        return Text("  ").join(shown) if shown else None

    def _element_text(self, element: dict[str, Any], style: str = "") -> Text:
        if element.get("type") == "mrkdwn":
            return self.mrkdwn(str(element.get("text", "")), style)
        if element.get("type") == "image":
            return Text(f"[{element.get('alt_text', 'image')}]", style=style)
        return Text(_plain(element), style=style)


def _plain(text_object: dict[str, Any] | None) -> str:
    return str((text_object or {}).get("text", ""))


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"
