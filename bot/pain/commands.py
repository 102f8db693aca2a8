"""Read what follows `/pain`: its subcommands, their limits and the errors that refuse them."""

from dataclasses import dataclass
from typing import Any

from bot.common.mentions import USER_MENTION, mentioned_users, plain_text
from bot.common.recurrence import is_known_timezone, parse_clock, parse_weekday
from bot.common.usage import UsageError
from storage.pain import CLOSED_STATUSES, STATUSES

MAX_TEXT_LENGTH = 1000
MAX_THEME_NAME_LENGTH = 80
DEFAULT_TOP_WEEKS = 8
MAX_WEEKS = 52
MAX_THRESHOLD_PEOPLE = 1000
STATUS_LABELS = {
    "new": "new",
    "acknowledged": "acknowledged",
    "planned": "planned",
    "in_progress": "in progress",
    "solved": "solved",
    "wont_fix": "won't fix",
}
_STATUS_WORDS = {
    **{status: status for status in STATUSES},
    "ack": "acknowledged",
    "in progress": "in_progress",
    "in-progress": "in_progress",
    "inprogress": "in_progress",
    "won't fix": "wont_fix",
    "wont fix": "wont_fix",
    "wontfix": "wont_fix",
    "won't-fix": "wont_fix",
    "wont-fix": "wont_fix",
    "done": "solved",
}

USAGE = """\
/pain <text> — log a pain point (only you see the answer, with similar ones)
/pain +1 <n> — you hit pain point n too (also `/pain metoo <n>`)
/pain list [status] — the newest pain points (open ones, or with that status)
/pain show <n> — one pain point, its theme and the people who hit it
/pain top [weeks] — themes ranked by people who hit them (default 8 weeks)
/pain top chart [weeks] — the top themes' distinct people per week, as a picture
/pain threshold [<people> <weeks>] — when the leads hear of a growing theme (default 3 in 4)
/pain merge <n> <into> — leads: put n's theme into the theme of pain point <into>
/pain split <n> — leads: take pain point n out of its theme
/pain theme <n> <name> — leads: name the theme of pain point n
/pain review [n] — leads: set a theme's status and a note for the people who reported it
/pain leads [add|remove @someone…] — show or change the workspace's leads
/pain export — leads: get every pain point as a CSV file
/pain reaction [<emoji> | off] — the reaction that logs a message as a pain point
/pain digest — this week's ML sync digest, now, only for you
/pain digest schedule <day> <HH:MM> [timezone] | off — when the channel gets the digest
/pain log <text> — log text that starts with a command word
/pain help — this text"""


def _words(text: str) -> list[str]:
    return text.split()


SUBCOMMANDS = frozenset(
    _words(
        """help log +1 metoo list show top threshold merge split theme review leads export reaction
    digest"""
    )
)


class PainError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


@dataclass(frozen=True)
class Log:
    """Log a pain point."""

    text: str


@dataclass(frozen=True)
class MeToo:
    """The caller hits pain point n too."""

    number: int


@dataclass(frozen=True)
class ListPoints:
    """List the newest pain points with some statuses."""

    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Show:
    """Show pain point n."""

    number: int


@dataclass(frozen=True)
class Top:
    """Rank themes over some weeks, in words or as a chart."""

    weeks: int
    chart: bool = False


@dataclass(frozen=True)
class Threshold:
    """Show the demand threshold, or set it."""

    people: int | None = None
    weeks: int | None = None


@dataclass(frozen=True)
class Merge:
    """Put pain point n's theme into the theme of pain point `into`."""

    number: int
    into: int


@dataclass(frozen=True)
class Split:
    """Take pain point n out of its theme."""

    number: int


@dataclass(frozen=True)
class NameTheme:
    """Name the theme of pain point n."""

    number: int
    name: str


@dataclass(frozen=True)
class Review:
    """Open the review modal, on the theme of pain point n if given."""

    number: int | None = None


@dataclass(frozen=True)
class Leads:
    """Show the leads, add some, or remove some."""

    action: str = "show"
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class Export:
    """Send the caller every pain point as CSV."""


@dataclass(frozen=True)
class Reaction:
    """Show the logging reaction, set it, or turn it off."""

    emoji: str | None = None
    off: bool = False


@dataclass(frozen=True)
class Digest:
    """Show the digest now, or change when the channel gets it."""

    action: str = "show"
    weekday: int | None = None
    minute: int | None = None
    timezone: str | None = None


Command = (
    Help
    | Log
    | MeToo
    | ListPoints
    | Show
    | Top
    | Threshold
    | Merge
    | Split
    | NameTheme
    | Review
    | Leads
    | Export
    | Reaction
    | Digest
)


def parse_command(text: str) -> Command:
    """Read the text after `/pain`; raise UsageError with a hint when it cannot be read."""
    stripped = text.strip()
    word, _, rest = stripped.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "help"):
        return Help()
    if word not in SUBCOMMANDS:
        return Log(clean_text(stripped))
    if word == "log":
        return Log(clean_text(rest))
    if word in ("+1", "metoo"):
        return MeToo(_number(rest, f"/pain {word} 12"))
    if word == "show":
        return Show(_number(rest, "/pain show 12"))
    if word == "list":
        return ListPoints(_statuses(rest))
    if word == "top":
        chart = rest.lower() == "chart" or rest.lower().startswith("chart ")
        weeks = rest.removeprefix(rest[:5]).strip() if chart else rest
        return Top(_weeks(weeks, "/pain top 8", DEFAULT_TOP_WEEKS), chart=chart)
    if word == "threshold":
        return _parse_threshold(rest)
    if word in ("merge", "split", "theme", "review"):
        return _parse_regroup(word, rest)
    if word == "leads":
        return _parse_leads(rest)
    if word == "export":
        return Export() if not rest else _usage("`/pain export` takes nothing after it.")
    if word == "reaction":
        return _parse_reaction(rest)
    return _parse_digest(rest)


def clean_text(raw: str) -> str:
    """Return a complaint's text as typed; refuse an empty or a huge one."""
    text = " ".join(plain_text(raw).split())
    if not text:
        _usage("Say what hurts, for example `/pain GPU queue takes forever`.")
    if len(text) > MAX_TEXT_LENGTH:
        _usage(
            f"Keep a pain point under {MAX_TEXT_LENGTH:,} characters (this one has {len(text):,}). "
            "Say the problem in a sentence or two; details can go in a thread."
        )
    return text


def _parse_threshold(rest: str) -> Threshold:
    example = "/pain threshold 3 4"
    words = rest.split()
    if not words:
        return Threshold()
    if len(words) != 2:
        _usage(f"Give a number of people and of weeks, for example `{example}`.")
    people = _number(words[0], example, "a number of people")
    weeks = _number(words[1], example, "a number of weeks")
    if not 1 <= people <= MAX_THRESHOLD_PEOPLE:
        _usage(f"People go from 1 to {MAX_THRESHOLD_PEOPLE}, for example `{example}`.")
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return Threshold(people, weeks)


def _parse_regroup(word: str, rest: str) -> Command:
    examples = {
        "merge": "/pain merge 14 3",
        "split": "/pain split 14",
        "theme": "/pain theme 14 Slow GPU queue",
        "review": "/pain review 14",
    }
    if word == "review" and not rest:
        return Review()
    number_text, _, tail = rest.partition(" ")
    number, tail = _number(number_text, examples[word]), tail.strip()
    if word == "merge":
        tail = tail.removeprefix("into ").strip()
        into = _number(tail, examples[word])
        if into == number:
            _usage("Merge a pain point into another one, for example `/pain merge 14 3`.")
        return Merge(number, into)
    if word == "theme":
        name = " ".join(plain_text(tail).split())
        if not name:
            _usage(f"Give the theme a name, for example `{examples[word]}`.")
        if len(name) > MAX_THEME_NAME_LENGTH:
            _usage(f"Keep a theme's name to {MAX_THEME_NAME_LENGTH} characters.")
        return NameTheme(number, name)
    if tail:
        _usage(f"`/pain {word}` takes only a number, for example `{examples[word]}`.")
    return Split(number) if word == "split" else Review(number)


def _parse_leads(rest: str) -> Leads:
    action, _, tail = rest.partition(" ")
    action = action.lower()
    if not action:
        return Leads()
    if action not in ("add", "remove"):
        _usage("Use `/pain leads`, `/pain leads add @someone` or `/pain leads remove @someone`.")
    people = tuple(mentioned_users(tail))
    if not people or USER_MENTION.sub("", tail).strip():
        _usage(f"Mention the people, for example `/pain leads {action} @alex`.")
    return Leads(action, people)


def _parse_reaction(rest: str) -> Reaction:
    if not rest:
        return Reaction()
    if rest.lower() == "off":
        return Reaction(off=True)
    emoji = rest.strip(":").lower()
    if not emoji or len(emoji) > 100 or not all(c.isalnum() or c in "_-+'" for c in emoji):
        _usage("Give one emoji, for example `/pain reaction :pain:`, or `/pain reaction off`.")
    return Reaction(emoji=emoji)


def _parse_digest(rest: str) -> Digest:
    example = "/pain digest schedule mon 10:00"
    words = rest.split()
    if not words:
        return Digest()
    if words == ["off"]:
        return Digest(action="off")
    if words[0].lower() != "schedule" or len(words) not in (3, 4):
        _usage(f"Use `/pain digest`, `{example}` or `/pain digest off`.")
    weekday, minute = parse_weekday(words[1]), parse_clock(words[2])
    if weekday is None:
        _usage(f"`{_quote(words[1])}` is not a weekday; try `{example}`.")
    if minute is None:
        _usage(f"`{_quote(words[2])}` is not a 24-hour time like 10:00; try `{example}`.")
    timezone = words[3] if len(words) == 4 else None
    if timezone is not None and not is_known_timezone(timezone):
        _usage(f"`{_quote(timezone)}` is not a timezone; try `{example} Europe/Berlin`.")
    return Digest(action="schedule", weekday=weekday, minute=minute, timezone=timezone)


def _statuses(rest: str) -> tuple[str, ...]:
    if not rest:
        return tuple(status for status in STATUSES if status not in CLOSED_STATUSES)
    if rest.lower() == "all":
        return STATUSES
    status = parse_status(rest)
    if status is None:
        names = ", ".join(STATUS_LABELS.values())
        _usage(f"`{_quote(rest)}` is not a status. Pick one of {names}, or `all`.")
    assert status is not None
    return (status,)


def parse_status(word: str) -> str | None:
    """Read a status as people write it ("in progress", "won't fix"); None when it is not one."""
    return _STATUS_WORDS.get(" ".join(word.lower().replace("’", "'").split()))


def _number(word: str, example: str, what: str = "a pain point's number") -> int:
    word = word.strip().lstrip("#")
    if not word.isdecimal() or len(word) > 9:
        _usage(f"Give {what}, for example `{example}`.")
    return int(word)


def _weeks(rest: str, example: str, default: int) -> int:
    if not rest:
        return default
    weeks = _number(rest, example, "a number of weeks")
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return weeks


def _quote(word: str) -> str:
    return word[:40].replace("`", "'")


def _usage(message: str, *, show_usage: bool = False) -> Any:
    raise UsageError(message, show_usage=show_usage)
