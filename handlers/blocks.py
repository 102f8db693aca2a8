"""Block Kit helpers shared by every feature: escaping, cutting to Slack's limits."""

import re
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject
from slack_sdk.models.blocks import (
    Block,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000
ESCAPED_USER_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]+)&gt;")
# Slack's special syntax: mentions of a person or channel and https links (permalinks) stay;
# anything else opened by "<" (<!channel>, <!here>, <javascript:…|x>) is shown, not obeyed. A lone
# ">" is left alone: it starts a quote, and without its "<" it commands nothing.
_MENTION_OR_OPENING = re.compile(
    r"(<@[UW][A-Z0-9]{1,31}>|<#C[A-Z0-9]{1,31}>|<https://[^\s<>|]+(?:\|[^<>|]*)?>)|<"
)


def escape(text: str) -> str:
    """Make user text safe in mrkdwn: it can never ping a channel or break the layout."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_keeping_mentions(text: str) -> str:
    """Escape user text like `escape`, but show its user mentions (`<@U…>`) as mentions."""
    return ESCAPED_USER_MENTION.sub(r"<@\1>", escape(text))


def safe_mrkdwn(text: str) -> str:
    """Neutralise what Slack would obey in text that leaves focusbot; escaped text is unchanged."""
    return _MENTION_OR_OPENING.sub(lambda match: match.group(1) or "&lt;", text)


def cut(text: str, limit: int) -> str:
    """Cut text to a length, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(mrkdwn: str) -> SectionBlock:
    """Return a section of mrkdwn text (already escaped), cut to Slack's limit."""
    return SectionBlock(text=MarkdownTextObject(text=cut(safe_mrkdwn(mrkdwn), MAX_SECTION_TEXT)))


def header(text: str) -> HeaderBlock:
    """Return a header of plain text, cut to Slack's limit."""
    return HeaderBlock(text=PlainTextObject(text=cut(text, MAX_HEADER_TEXT), emoji=True))


def context(mrkdwn: str) -> ContextBlock:
    """Return a line of small print (mrkdwn, already escaped)."""
    return ContextBlock(
        elements=[MarkdownTextObject(text=cut(safe_mrkdwn(mrkdwn), MAX_CONTEXT_TEXT))]
    )


def packed_sections(
    lines: Sequence[str], max_blocks: int, more: str = "…and {count} more."
) -> list[Block]:
    """Pack lines into sections within Slack's text limit; say how many lines did not fit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for index, line in enumerate(cut(line, MAX_SECTION_TEXT) for line in lines):
        if chunk and len("\n".join([*chunk, line])) > MAX_SECTION_TEXT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
            if len(blocks) == max_blocks - 1:
                return [*blocks, context(more.format(count=len(lines) - index))]
        chunk.append(line)
    return [*blocks, section("\n".join(chunk))] if chunk else blocks


def fit(blocks: Sequence[Block], limit: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """Keep a message within a block limit, saying how much was left out."""
    if len(blocks) <= limit:
        return list(blocks)
    kept = list(blocks[: limit - 1])
    return [*kept, context(f"…and {len(blocks) - len(kept)} more blocks not shown.")]


def fallback(text: str) -> str:
    """Return a message's top-level text (what notifications show): made safe, cut to length."""
    return cut(safe_mrkdwn(text), MAX_FALLBACK_TEXT)


def as_dicts(blocks: Sequence[Block]) -> list[dict]:
    """Return blocks as the JSON Slack expects, exactly as `to_dict()` would, without validating.

    slack_sdk's `to_dict()` validates every object on every call; the blocks focusbot renders are
    validated in the tests instead (tests/test_block_kit.py), so a request does not pay for it.
    """
    return [_as_json(block) for block in blocks]


def _as_json(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:  # most values: checked first, as this runs for each of them
        return value
    convert = _CONVERTERS.get(kind)
    if convert is None:  # the same for every value of a class
        convert = _CONVERTERS[kind] = _converter_of(kind)
    return convert(value)


def _converter_of(kind: type) -> Callable[[Any], Any]:
    if issubclass(kind, list | tuple):
        return _list_as_json
    if not issubclass(kind, JsonObject):
        return _itself
    if issubclass(kind, ConfirmObject):
        return _confirm_as_json
    if (kind.to_dict, kind.get_object_attribute) != _PLAIN:  # a shape of its own (options…)
        return _own_shape_as_json
    return _object_as_json


def _list_as_json(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [_as_json(item) for item in values]


def _itself(value: Any) -> Any:
    return value


def _own_shape_as_json(value: JsonObject) -> dict[str, Any]:
    return {key: _as_json(item) for key, item in value.to_dict().items()}


def _object_as_json(value: JsonObject) -> dict[str, Any]:
    shown = {}
    for key, shown_empty in _fields_of(value):
        item = getattr(value, key, None)
        # JsonObject.get_non_null_attributes leaves out None and empty values, but for a few kinds.
        if item is not None and (shown_empty or not hasattr(item, "__len__") or len(item) > 0):
            shown[key] = _as_json(item)
    return shown


def _confirm_as_json(confirm: ConfirmObject) -> dict[str, Any]:
    # What ConfirmObject.to_dict() returns inside blocks.
    parts = {
        "title": confirm._title,
        "text": confirm._text,
        "confirm": confirm._confirm,
        "deny": confirm._deny,
        "style": confirm._style,
    }
    return {key: _as_json(part) for key, part in parts.items() if part}


def _fields_of(value: JsonObject) -> tuple[tuple[str, bool], ...]:
    """Return an object's attributes in to_dict()'s order, each with whether it shows when empty."""
    shape = (type(value), getattr(value, "type", None))
    fields = _FIELDS.get(shape)
    if fields is None:  # the same for every object of a class and type
        kind = shape[1]
        fields = _FIELDS[shape] = tuple(
            (key, (kind, key) in _EMPTY_ALLOWED) for key in sorted(value.attributes)
        )
    return fields


_SCALARS = frozenset({str, int, bool, float})
_PLAIN = (JsonObject.to_dict, JsonObject.get_object_attribute)
_FIELDS: dict[tuple[type, Any], tuple[tuple[str, bool], ...]] = {}
_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
_EMPTY_ALLOWED = frozenset(
    (allowed["type"], allowed["property"]) for allowed in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST
)
