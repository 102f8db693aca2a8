"""Read the text after `/milestone` into a command; say how to write it when it cannot be read."""

import re
from dataclasses import dataclass
from typing import Any

from bot.common.mentions import plain_text
from bot.common.usage import UsageError
from storage.milestones import DEFAULT_CONFIDENCE

MAX_TITLE_LENGTH = 200
MAX_VISION_LENGTH = 1000
MAX_REASON_LENGTH = 500
MIN_WEEKS, MAX_CADENCE_WEEKS, MAX_CHECKIN_WEEKS = 1, 52, 26

USAGE = """\
/milestone list — the vision and the open milestones (only to you)
/milestone vision [text] — show or set the team's vision, shown above the milestones
/milestone add <title> target <date> [confidence <p>%] — add a milestone (default 50%)
/milestone show <n> — milestone n's whole history, with its confidence trail
/milestone edit <n> title <text> — rename milestone n
/milestone edit <n> target <date> [confidence <p>%] [because <reason>] — move milestone n's target
/milestone edit <n> confidence <p>% — change how likely milestone n is to work out
/milestone achieved <n> — milestone n is achieved
/milestone drop <n> [reason] — drop milestone n
/milestone cadence [weeks] — show or set how often milestones are revisited (default 13 weeks)
/milestone checkins [<weeks> | off] — optional confidence check-ins between revisits
/milestone calibration — how well the team's confidence predicted what happened
/milestone help — this text"""

DATE_HINT = (
    "Dates: `2027-03-01`, `end of march`, `march 15`, `in 10 weeks`, `in 3 months`, `Q2`, "
    "`Q2 2027`, `end of year` — read in the team's timezone, always ahead of today."
)


@dataclass(frozen=True)
class ShowList:
    """Show the vision and the open milestones."""


@dataclass(frozen=True)
class Vision:
    """Show the vision, or set it."""

    text: str | None


@dataclass(frozen=True)
class Add:
    """Add a milestone."""

    title: str
    target: str
    confidence: int


@dataclass(frozen=True)
class Show:
    """Show milestone n's history."""

    number: int


@dataclass(frozen=True)
class Rename:
    """Rename milestone n."""

    number: int
    title: str


@dataclass(frozen=True)
class MoveTarget:
    """Move milestone n's target, maybe with a new confidence and a reason."""

    number: int
    target: str
    confidence: int | None
    reason: str


@dataclass(frozen=True)
class SetConfidence:
    """Change milestone n's confidence."""

    number: int
    confidence: int


@dataclass(frozen=True)
class Achieve:
    """Mark milestone n achieved."""

    number: int


@dataclass(frozen=True)
class Drop:
    """Drop milestone n."""

    number: int
    reason: str


@dataclass(frozen=True)
class Cadence:
    """Show or set the revisit cadence."""

    weeks: int | None


@dataclass(frozen=True)
class Checkins:
    """Show, set or turn off the confidence check-ins."""

    weeks: int | None
    off: bool = False


@dataclass(frozen=True)
class Calibration:
    """Show how well confidences predicted outcomes."""


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


Command = (
    ShowList
    | Vision
    | Add
    | Show
    | Rename
    | MoveTarget
    | SetConfidence
    | Achieve
    | Drop
    | Cadence
    | Checkins
    | Calibration
    | Help
)

_ADD = re.compile(
    r"^(?P<title>.+)\s+target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+))?$",
    re.IGNORECASE | re.DOTALL,
)
_TARGET = re.compile(
    r"^target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+))?(?:\s+because\s+(?P<reason>.+))?$",
    re.IGNORECASE | re.DOTALL,
)


def parse_command(text: str) -> Command:
    """Read the text after `/milestone`; raise UsageError with an example when it cannot be read."""
    text = plain_text(text)
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "list"):
        return ShowList() if not rest else _usage(f"`/milestone {word}` takes nothing after it.")
    if word == "help":
        return Help()
    if word == "calibration":
        return Calibration() if not rest else _usage("`/milestone calibration` takes nothing.")
    if word == "vision":
        return Vision(_limited(rest, MAX_VISION_LENGTH, "the vision") if rest else None)
    if word == "add":
        return _parse_add(rest)
    if word in ("show", "achieved", "drop", "edit"):
        return _parse_milestone_command(word, rest)
    if word == "cadence":
        example = "/milestone cadence 13"
        return Cadence(_weeks(rest, MAX_CADENCE_WEEKS, example) if rest else None)
    if word == "checkins":
        if rest.lower() == "off":
            return Checkins(None, off=True)
        return Checkins(_weeks(rest, MAX_CHECKIN_WEEKS, "/milestone checkins 2") if rest else None)
    return _usage(f"I don't know `/milestone {_quote(word)}`.", show_usage=True)


def _parse_add(rest: str) -> Add:
    example = "/milestone add Eval harness runs nightly target end of march confidence 70%"
    match = _ADD.match(rest)
    if match is None:
        return _usage(f"Give a title and a target date, for example `{example}`.")
    title = _limited(match["title"].strip(), MAX_TITLE_LENGTH, "a title")
    confidence = _confidence(match["p"], example) if match["p"] else DEFAULT_CONFIDENCE
    return Add(title, match["date"].strip(), confidence)


def _parse_milestone_command(word: str, rest: str) -> Command:
    number_text, _, tail = rest.partition(" ")
    tail = tail.strip()
    examples = {
        "show": "/milestone show 2",
        "achieved": "/milestone achieved 2",
        "drop": "/milestone drop 2 the direction changed",
        "edit": "/milestone edit 2 target in 6 weeks because labelling took longer",
    }
    number = _number(number_text.removeprefix("#"), examples[word])
    if word in ("show", "achieved"):
        return (
            _usage(f"`{examples[word]}` takes only the number.") if tail else _simple(word, number)
        )
    if word == "drop":
        return Drop(number, _limited(tail, MAX_REASON_LENGTH, "the reason"))
    return _parse_edit(number, tail)


def _simple(word: str, number: int) -> Command:
    return Show(number) if word == "show" else Achieve(number)


def _parse_edit(number: int, tail: str) -> Command:
    key, _, value = tail.partition(" ")
    value = value.strip()
    key = key.lower()
    if key == "title" and value:
        return Rename(number, _limited(value, MAX_TITLE_LENGTH, "a title"))
    if key == "confidence" and value:
        return SetConfidence(number, _confidence(value, f"/milestone edit {number} confidence 70%"))
    if key == "target" and (match := _TARGET.match(tail)):
        example = f"/milestone edit {number} target end of june confidence 60%"
        confidence = _confidence(match["p"], example) if match["p"] else None
        reason = _limited((match["reason"] or "").strip(), MAX_REASON_LENGTH, "the reason")
        return MoveTarget(number, match["date"].strip(), confidence, reason)
    return _usage(
        f"Say what to change, for example `/milestone edit {number} target in 6 weeks`, "
        f"`/milestone edit {number} confidence 70%` or `/milestone edit {number} title <text>`."
    )


def _confidence(raw: str, example: str) -> int:
    digits = raw.strip().removesuffix("%").strip()
    if not digits.isdecimal() or int(digits) > 100:
        _usage(f"Confidence is a percentage from 0 to 100, for example `{example}`.")
    return int(digits)


def _number(word: str, example: str) -> int:
    if not word.isdecimal() or len(word) > 6:
        _usage(f"Give the milestone's number, for example `{example}`.")
    return int(word)


def _weeks(raw: str, highest: int, example: str) -> int:
    if not raw.isdecimal() or not MIN_WEEKS <= int(raw) <= highest:
        _usage(f"Give a number of weeks from {MIN_WEEKS} to {highest}, for example `{example}`.")
    return int(raw)


def _limited(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        _usage(f"Keep {what} under {limit} characters (this one has {len(text):,}).")
    return text


def _quote(word: str) -> str:
    return word[:40].replace("`", "'")


def _usage(message: str, *, show_usage: bool = False) -> Any:
    raise UsageError(message, show_usage=show_usage)
