"""Slack's mrkdwn as terminal styles: bold, italic, strike, code, links, mentions, quotes."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from rich.emoji import Emoji
from rich.text import Text

# One token of mrkdwn: a code span or block, an angle-bracket entity, or a styled run.
TOKEN = re.compile(
    r"```(?P<block>.+?)```"
    r"|`(?P<code>[^`\n]+)`"
    r"|<(?P<entity>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+?)\*(?!\w)"
    r"|(?<![\w_])_(?P<italic>[^_\n]+?)_(?!\w)"
    r"|(?<![\w~])~(?P<strike>[^~\n]+?)~(?!\w)",
    re.DOTALL,
)
STYLES = {"bold": "bold", "italic": "italic", "strike": "strike"}
MENTION_STYLE = "bold cyan"
LINK_STYLE = "underline blue"
CODE_STYLE = "bold yellow on grey15"


@dataclass(frozen=True)
class Names:
    """Turn Slack's ids into the names a person would see."""

    user: Callable[[str], str]
    channel: Callable[[str], str]


def to_text(mrkdwn: str, names: Names, style: str = "") -> Text:
    """Return mrkdwn as styled terminal text."""
    text = Text(style=style)
    for number, line in enumerate(mrkdwn.split("\n")):
        if number:
            text.append("\n")
        quote = re.match(r"^(&gt;|>)\s?", line)
        if quote:
            text.append("▌ ", style="dim")
            _append_inline(text, line[quote.end() :], names, "italic")
        else:
            _append_inline(text, line, names, "")
    return text


def _append_inline(text: Text, mrkdwn: str, names: Names, style: str) -> None:
    position = 0
    for match in TOKEN.finditer(mrkdwn):
        text.append(_unescape(mrkdwn[position : match.start()]), style=style)
        position = match.end()
        kind = match.lastgroup or ""
        inner = match.group(kind)
        if kind in ("block", "code"):
            text.append(_unescape(inner), style=CODE_STYLE)
        elif kind == "entity":
            _append_entity(text, inner, names)
        else:
            nested = Text()
            _append_inline(nested, inner, names, f"{style} {STYLES[kind]}".strip())
            text.append_text(nested)
    text.append(_unescape(mrkdwn[position:]), style=style)


def _append_entity(text: Text, entity: str, names: Names) -> None:
    target, _, label = entity.partition("|")
    if target.startswith("@"):
        text.append("@" + names.user(target[1:]), style=MENTION_STYLE)
    elif target.startswith("#"):
        text.append("#" + (label or names.channel(target[1:])).lstrip("#"), style=MENTION_STYLE)
    elif target.startswith("!"):
        special = target[1:].split("^")[0]
        text.append("@" + (label.lstrip("@") or special), style=MENTION_STYLE)
    else:
        shown = _unescape(label or target)
        text.append(shown, style=f"{LINK_STYLE} link {_unescape(target)}")


def _unescape(text: str) -> str:
    text = Emoji.replace(text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
