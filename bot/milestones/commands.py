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
MAX_APPROACH_LENGTH = 300
MAX_TRIED_LENGTH = 500
MIN_WEEKS, MAX_CADENCE_WEEKS, MAX_CHECKIN_WEEKS = 1, 52, 26

USAGE = """\
/milestone list — the vision and the open milestones (only to you)
/milestone vision [text] — show or set the team's vision, shown above the milestones
/milestone vision date <date> — the date the vision is to be reached by (the forecast's horizon)
/milestone add <title> target <date> [confidence <p>%] — add a milestone (default 50%)
/milestone show <n> — milestone n's whole history, with its confidence trail
/milestone edit <n> title <text> — rename milestone n
/milestone edit <n> target <date> [confidence <p>%] [because <reason>] — move milestone n's target
/milestone edit <n> confidence <p>% — set how likely milestone n is to work out, directly
/milestone edit <n> confidence auto — derive it from the approaches again
/milestone edit <n> required <yes|no> — whether the vision needs milestone n (for the forecast)
/milestone approach <n> — milestone n's approaches and their chances
/milestone approach <n> add <text> [<p>%] — add an approach (default 50%)
/milestone approach <n> <k> <p>% — change approach k's chance
/milestone approach <n> drop <k> — drop approach k
/milestone tried <n> [approach <k>] <what> [-> <outcome>] — log an experiment or idea tried
/milestone forecast — how many milestones land by the vision's date, and the chance all required do
/milestone achieved <n> — milestone n is achieved
/milestone drop <n> [reason] — drop milestone n
/milestone cadence [weeks] — show or set how often milestones are revisited (default 13 weeks)
/milestone checkins [<weeks> | off] — optional confidence check-ins between revisits
/milestone calibration — how well the team's confidence predicted what happened
/milestone calibration chart — confidence trails and the calibration curve, as a picture
/milestone help — this text"""

APPROACH_HINT = (
    "A milestone with approaches works out when at least one approach does; they count as "
    "independent: 1 − (1 − p₁)(1 − p₂)…, unless the team sets the confidence directly."
)
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
    """Show how well confidences predicted outcomes, in words or as a chart."""

    chart: bool = False


@dataclass(frozen=True)
class VisionDate:
    """Set the date the vision is to be reached by."""

    date: str


@dataclass(frozen=True)
class SetRequired:
    """Mark milestone n required for the vision, or not."""

    number: int
    required: bool


@dataclass(frozen=True)
class DeriveConfidence:
    """Let milestone n's approaches set its confidence again."""

    number: int


@dataclass(frozen=True)
class ListApproaches:
    """Show milestone n's approaches."""

    number: int


@dataclass(frozen=True)
class AddApproach:
    """Add an approach to milestone n."""

    number: int
    text: str
    chance: int


@dataclass(frozen=True)
class SetApproachChance:
    """Change the chance of milestone n's approach k."""

    number: int
    approach: int
    chance: int


@dataclass(frozen=True)
class DropApproach:
    """Drop milestone n's approach k."""

    number: int
    approach: int


@dataclass(frozen=True)
class Tried:
    """Log something tried against milestone n (or one of its approaches)."""

    number: int
    approach: int | None
    what: str
    outcome: str


@dataclass(frozen=True)
class ShowForecast:
    """Forecast the vision from the open milestones."""


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
    | VisionDate
    | SetRequired
    | DeriveConfidence
    | ListApproaches
    | AddApproach
    | SetApproachChance
    | DropApproach
    | Tried
    | ShowForecast
    | Help
)

_ADD = re.compile(
    r"^(?P<title>.+)\s+target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+)|\s+(?P<bare>\d{1,3}\s*%))?$",
    re.IGNORECASE | re.DOTALL,
)
_CHANCE_AT_END = re.compile(r"^(?P<text>.+?)\s+(?P<p>\d{1,3})\s*%$", re.DOTALL)
_OUTCOME = re.compile(r"\s+(?:->|→|=>)\s*")
_TARGET = re.compile(
    r"^target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+)|\s+(?P<bare>\d{1,3}\s*%))?"
    r"(?:\s+because\s+(?P<reason>.+))?$",
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
        if rest.lower() == "chart":
            return Calibration(chart=True)
        return (
            Calibration()
            if not rest
            else _usage("`/milestone calibration` takes `chart` or nothing.")
        )
    if word == "forecast":
        return ShowForecast() if not rest else _usage("`/milestone forecast` takes nothing.")
    if word == "approach":
        return _parse_approach(rest)
    if word == "tried":
        return _parse_tried(rest)
    if word == "vision" and rest.lower().startswith("date "):
        return VisionDate(rest[5:].strip())
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
    stated = match["p"] or match["bare"]
    confidence = _confidence(stated, example) if stated else DEFAULT_CONFIDENCE
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


def _parse_approach(rest: str) -> Command:
    example = "/milestone approach 2 add distil the large model 40%"
    number_text, _, tail = rest.partition(" ")
    number = _number(number_text.removeprefix("#"), example)
    key, _, value = tail.strip().partition(" ")
    value = value.strip()
    if not key:
        return ListApproaches(number)
    if key.lower() == "add" and value:
        match = _CHANCE_AT_END.match(value)
        text = match["text"].strip() if match else value
        chance = _confidence(match["p"], example) if match else DEFAULT_CONFIDENCE
        return AddApproach(number, _limited(text, MAX_APPROACH_LENGTH, "an approach"), chance)
    if key.lower() == "drop" and value:
        return DropApproach(number, _number(value, f"/milestone approach {number} drop 1"))
    if key.isdecimal() and value:
        change = f"/milestone approach {number} {key} 30%"
        return SetApproachChance(number, _number(key, change), _confidence(value, change))
    return _usage(
        f"Say what to do with the approaches, for example `{example}`, "
        f"`/milestone approach {number} 1 30%` or `/milestone approach {number} drop 1`."
    )


def _parse_tried(rest: str) -> Tried:
    example = "/milestone tried 2 focal loss -> worse on the rare classes"
    number_text, _, tail = rest.partition(" ")
    number = _number(number_text.removeprefix("#"), example)
    approach = None
    first, _, after = tail.strip().partition(" ")
    if first.lower() == "approach":
        approach_text, _, tail = after.strip().partition(" ")
        approach = _number(approach_text, f"/milestone tried {number} approach 1 <what>")
    parts = _OUTCOME.split(tail.strip(), maxsplit=1)
    what, outcome = parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""
    if not what:
        return _usage(f"Say what was tried, for example `{example}`.")
    return Tried(
        number,
        approach,
        _limited(what, MAX_TRIED_LENGTH, "what was tried"),
        _limited(outcome, MAX_TRIED_LENGTH, "the outcome"),
    )


def _simple(word: str, number: int) -> Command:
    return Show(number) if word == "show" else Achieve(number)


def _parse_edit(number: int, tail: str) -> Command:
    key, _, value = tail.partition(" ")
    value = value.strip()
    key = key.lower()
    if key == "title" and value:
        return Rename(number, _limited(value, MAX_TITLE_LENGTH, "a title"))
    if key == "confidence" and value.lower() == "auto":
        return DeriveConfidence(number)
    if key == "required" and value.lower() in ("yes", "no"):
        return SetRequired(number, value.lower() == "yes")
    if key == "confidence" and value:
        return SetConfidence(number, _confidence(value, f"/milestone edit {number} confidence 70%"))
    if key == "target" and (match := _TARGET.match(tail)):
        example = f"/milestone edit {number} target end of june confidence 60%"
        stated = match["p"] or match["bare"]
        confidence = _confidence(stated, example) if stated else None
        reason = _limited((match["reason"] or "").strip(), MAX_REASON_LENGTH, "the reason")
        return MoveTarget(number, match["date"].strip(), confidence, reason)
    return _usage(
        f"Say what to change, for example `/milestone edit {number} target in 6 weeks`, "
        f"`/milestone edit {number} confidence 70%`, `/milestone edit {number} required yes` "
        f"or `/milestone edit {number} title <text>`."
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
