"""Modals in the terminal: list the inputs, number each select's options, read the answers."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rich.text import Text

from bot.console.render import Renderer

Values = dict[str, dict[str, Any]]
QUIT_WORDS = ("quit", "exit")


class Lines(Protocol):
    """Where answers come from."""

    interactive: bool

    def read(self, prompt: str) -> str | None:
        """Return the next line, or None at the end of input."""

    def push_back(self, line: str) -> None:
        """Give a line back, to be read next."""


class Closed(Exception):
    """The person closed the modal (cancel, a command, or the end of input)."""


@dataclass(frozen=True)
class Field:
    """One input of a modal."""

    block_id: str
    label: str
    element: dict[str, Any]
    optional: bool

    @property
    def options(self) -> list[dict[str, Any]]:
        """Return a select's options (none for other inputs)."""
        return list(self.element.get("options") or [])


class WrongAnswer(Exception):
    """An answer that fits none of the input's choices."""


def fields_of(view: dict[str, Any]) -> list[Field]:
    """Return a view's inputs, in order."""
    return [
        Field(
            block["block_id"],
            str((block.get("label") or {}).get("text", "")),
            block["element"],
            bool(block.get("optional")),
        )
        for block in view.get("blocks", [])
        if block.get("type") == "input"
    ]


def show_modal(renderer: Renderer, view: dict[str, Any]) -> None:
    """Print a modal's title, its text, and each input with its numbered options."""
    title = (view.get("title") or {}).get("text", "")
    submit = (view.get("submit") or {}).get("text", "Submit")
    terminal = renderer.terminal
    terminal.rule(Text(f"modal: {title}", style="bold magenta"), style="magenta", align="left")
    renderer.blocks([b for b in view.get("blocks", []) if b.get("type") != "input"])
    for number, field in enumerate(fields_of(view), start=1):
        terminal.print(Text(f"{number}. {field.label}", style="bold magenta"), _kind(field))
        for index, option in enumerate(field.options, start=1):
            terminal.print(f"     {index}) {_option_text(option)}", highlight=False)
    terminal.print(
        Text(
            f"Answer each input in turn (Enter keeps what is shown in brackets); "
            f"then it is sent as “{submit}”. cancel closes the modal.",
            style="dim",
        )
    )


def read_answers(
    renderer: Renderer,
    fields: list[Field],
    lines: Lines,
    user_id: Callable[[str], str],
    previous: Values | None = None,
) -> Values:
    """Ask each input in turn; raise Closed when the person leaves the modal."""
    values: Values = dict(previous or {})
    for field in fields:
        while True:
            answer = lines.read(f"  {field.label}{_default_hint(field)} › ")
            if answer is None:
                raise Closed
            answer = answer.strip()
            if answer.lower() == "cancel":
                raise Closed
            if answer.startswith("/") or answer.lower() in QUIT_WORDS:
                lines.push_back(answer)
                raise Closed
            try:
                values[field.block_id] = {
                    field.element["action_id"]: _value(field, answer, user_id)
                }
                break
            except WrongAnswer as wrong:
                renderer.terminal.print(Text(f"✗ {wrong}", style="red"))
                if not lines.interactive:
                    raise Closed from None
    return values


def _value(field: Field, answer: str, user_id: Callable[[str], str]) -> dict[str, Any]:
    element = field.element
    kind = str(element.get("type"))
    if kind == "static_select":
        return {"type": kind, "selected_option": _option(field, answer)}
    if kind == "multi_users_select":
        names = answer.replace("@", " ").replace(",", " ").split()
        users = [user_id(name) for name in names] or element.get("initial_users") or []
        return {"type": kind, "selected_users": users}
    if kind == "datepicker":
        date = answer or element.get("initial_date")
        if date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise WrongAnswer(f"“{answer}” is not a date; write it like 2027-03-15.")
        return {"type": kind, "selected_date": date or None}
    return {"type": kind, "value": answer or element.get("initial_value") or None}


def _option(field: Field, answer: str) -> dict[str, Any] | None:
    options = field.options
    if not answer:
        return field.element.get("initial_option")
    if answer.isdecimal() and 1 <= int(answer) <= len(options):
        return options[int(answer) - 1]
    wanted = answer.casefold()
    for option in options:
        text = _option_text(option).casefold()
        if wanted in (text, str(option.get("value", "")).casefold(), _unnumbered(text)):
            return option
    containing = [o for o in options if wanted in _option_text(o).casefold()]
    if len(containing) == 1:
        return containing[0]
    raise WrongAnswer(
        f"“{answer}” is none of the {field.label} options: "
        f"give a number from 1 to {len(options)} or an option's text."
    )


def _unnumbered(text: str) -> str:
    """Return an option's text without a leading rank such as `2. `."""
    return re.sub(r"^\d+\.\s*", "", text)


def _option_text(option: dict[str, Any]) -> str:
    return str((option.get("text") or {}).get("text", ""))


def _kind(field: Field) -> Text:
    kinds = {
        "static_select": "pick one: a number or the option's text",
        "multi_users_select": "people: @alex @sam",
        "datepicker": "a date: 2027-03-15",
        "plain_text_input": "text",
    }
    kind = kinds.get(str(field.element.get("type")), str(field.element.get("type")))
    return Text(f"({kind}{', optional' if field.optional else ''})", style="dim")


def _default_hint(field: Field) -> str:
    element = field.element
    initial = element.get("initial_option")
    shown = (
        _option_text(initial)
        if initial
        else element.get("initial_value")
        or element.get("initial_date")
        or " ".join(element.get("initial_users") or [])
    )
    return f" [{shown}]" if shown else ""
