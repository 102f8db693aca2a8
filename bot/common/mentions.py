"""Read the text Slack sends with slash commands: mentions, channels, links, entities."""

import re

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CGD][A-Z0-9]+\|([^>]*)>|<#([CGD][A-Z0-9]+)>")
_SPECIAL = re.compile(r"<!([a-z]*)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def mentioned_users(text: str) -> list[str]:
    """Return the user ids mentioned in the text, first mention first, each once."""
    return list(dict.fromkeys(USER_MENTION.findall(text)))


def without_mentions(text: str) -> str:
    """Remove user mentions and tidy the spaces they leave behind."""
    return " ".join(USER_MENTION.sub(" ", text).split())


def with_inner_mentions(text: str) -> str:
    """Drop the mentions that open or close the text and keep those within it, as `<@U…>`.

    `Retrain with @alex and @sam @kim` reads `Retrain with <@UALEX> and <@USAM>`: the mentions
    at the ends only tag people, the ones inside are part of what is said.
    """
    words = USER_MENTION.sub(lambda m: f" <@{m.group(1)}> ", text).split()
    while words and USER_MENTION.fullmatch(words[0]):
        words.pop(0)
    while words and USER_MENTION.fullmatch(words[-1]):
        words.pop()
    return " ".join(words)


def plain_text(text: str) -> str:
    """Turn Slack's escaped message text into the plain text a person typed.

    Broadcasts and group mentions become inert words (`<!here>` → `@here`), channel
    references become `#name`, links become their address, and control characters go.
    User mentions are kept, since callers read owners from them.
    """
    text = _CHANNEL.sub(lambda m: "#" + (m.group(1) or m.group(2)), text)
    text = _SPECIAL.sub(_special_as_word, text)
    text = _LINK.sub(_link_as_text, text)
    text = _CONTROL.sub(" ", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _special_as_word(match: re.Match[str]) -> str:
    word, label = match.group(1), match.group(2)
    if word == "date":
        return label or ""
    if label:
        return label if label.startswith("@") else "@" + label
    return "@" + (word or "group")


def _link_as_text(match: re.Match[str]) -> str:
    address, label = match.group(1), match.group(2)
    address = address.removeprefix("mailto:")
    if label and label != address:
        return f"{label} ({address})"
    return address
