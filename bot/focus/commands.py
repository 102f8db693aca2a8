"""Read `/focus` subcommands into commands; refuse what cannot be read or what the rules refuse."""

import re
from dataclasses import dataclass

from bot.common.mentions import (
    USER_MENTION,
    mentioned_users,
    plain_text,
    with_inner_mentions,
    without_mentions,
)
from bot.common.recurrence import is_known_timezone, parse_clock, parse_weekday
from bot.common.usage import UsageError

MIN_CAP, MAX_CAP = 1, 7
MAX_ITEM_LENGTH = 280
MAX_REASON_LENGTH = 500
DEFAULT_HISTORY_WEEKS = 4
MAX_WEEKS = 52
CHANNEL_ONLY = re.compile(r"<#([CG][A-Z0-9]{1,20})(?:\|[^>]*)?>")

USAGE = """\
/focus — show the list (only to you)
/focus add <text> — add an item; people you mention own it (else you do)
/focus done <n> — finish item n
/focus drop <n> [reason] — drop item n
/focus edit <n> <text> — reword item n
/focus move <n> <position> — move item n to another position
/focus owner <n> @someone… — change who owns item n
/focus limit [k] — show or set how many items fit (1 to 7, default 3)
/focus share — post the list in the channel for everyone
/focus history [weeks] — what was added, finished and dropped (default 4 weeks)
/focus checkin [<day> <HH:MM> [timezone] | off] — the weekly focus check (default Monday 09:30)
/focus stall [weeks] — after how many weeks in focus an item counts as stalled (default 6)
/focus all — every team's list you may see, newest change first (also `/focus teams`)
/focus team #channel — another team's list, read-only
/focus follow #channel — show that team's list first on your Home tab (`unfollow` to stop)
/focus digest [here <day> <HH:MM> [timezone] | off] — every team's focus, posted weekly here
/focus help — this text"""


class FocusError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str, *, show_list: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.show_list = show_list


@dataclass(frozen=True)
class ShowList:
    """Show the list to the caller."""


@dataclass(frozen=True)
class Add:
    """Add an item."""

    text: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Finish:
    """Finish item n."""

    number: int


@dataclass(frozen=True)
class Drop:
    """Drop item n."""

    number: int
    reason: str


@dataclass(frozen=True)
class Edit:
    """Reword item n."""

    number: int
    text: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    """Move item n to a position."""

    number: int
    position: int


@dataclass(frozen=True)
class SetOwners:
    """Change who owns item n."""

    number: int
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Limit:
    """Show the cap, or set it."""

    cap: int | None


@dataclass(frozen=True)
class Share:
    """Post the list for everyone."""


@dataclass(frozen=True)
class History:
    """Show what changed over some weeks."""

    weeks: int


@dataclass(frozen=True)
class Checkin:
    """Show the weekly check, turn it off, or set its day and time."""

    weekday: int | None = None
    minute: int | None = None
    timezone: str | None = None
    off: bool = False


@dataclass(frozen=True)
class Stall:
    """Show or set after how many weeks an item counts as stalled."""

    weeks: int | None


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


@dataclass(frozen=True)
class AllTeams:
    """Show every team's list the caller may see."""


@dataclass(frozen=True)
class ShowTeam:
    """Show one team's list, read-only."""

    channel_id: str


@dataclass(frozen=True)
class Follow:
    """Follow a team's list on the Home tab, or stop following it."""

    channel_id: str
    stop: bool = False


@dataclass(frozen=True)
class AcrossPost:
    """Show the weekly post of every team's focus here, turn it off, or set its day and time."""

    weekday: int | None = None
    minute: int | None = None
    timezone: str | None = None
    off: bool = False


Command = (
    ShowList
    | Add
    | Finish
    | Drop
    | Edit
    | Move
    | SetOwners
    | Limit
    | Share
    | History
    | Checkin
    | Stall
    | Help
    | AllTeams
    | ShowTeam
    | Follow
    | AcrossPost
)


def parse_command(text: str) -> Command:
    """Read the text after `/focus`; raise UsageError with a hint when it cannot be read."""
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "list"):
        return ShowList() if not rest else _usage(f"`/focus {word}` takes nothing after it.")
    if word == "help":
        return Help()
    if word == "share":
        return Share() if not rest else _usage("`/focus share` takes nothing after it.")
    if word == "add":
        text, owners = _item_text(rest, "/focus add Ship the eval harness @alex")
        return Add(text, owners)
    if word in ("done", "drop", "edit", "move", "owner"):
        return _parse_item_command(word, rest)
    if word == "limit":
        cap = _optional_number(rest, "/focus limit 4")
        if cap is not None and not MIN_CAP <= cap <= MAX_CAP:
            _usage(
                f"The cap must be between {MIN_CAP} and {MAX_CAP}, for example `/focus limit 4`."
            )
        return Limit(cap)
    if word == "history":
        weeks = _optional_number(rest, "/focus history 8")
        return History(_weeks_in_range(weeks, "/focus history 8", DEFAULT_HISTORY_WEEKS))
    if word == "stall":
        weeks = _optional_number(rest, "/focus stall 6")
        return Stall(None if weeks is None else _weeks_in_range(weeks, "/focus stall 6", 6))
    if word == "checkin":
        return _parse_checkin(rest)
    if word in ("all", "teams"):
        return AllTeams() if not rest else _usage(f"`/focus {word}` takes nothing after it.")
    if word in ("team", "follow", "unfollow"):
        channel_id = _channel(rest, f"/focus {word} #ml-research")
        if word == "team":
            return ShowTeam(channel_id)
        return Follow(channel_id, stop=word == "unfollow")
    if word == "digest":
        return _parse_across_post(rest)
    return _usage(f"I don't know `/focus {_quote(word)}`.", show_usage=True)


def _parse_item_command(word: str, rest: str) -> Command:
    number_text, _, tail = rest.partition(" ")
    tail = tail.strip()
    examples = {
        "done": "/focus done 2",
        "drop": "/focus drop 2 superseded by the new data pipeline",
        "edit": "/focus edit 2 Ship the eval harness v2",
        "move": "/focus move 3 1",
        "owner": "/focus owner 2 @alex @sam",
    }
    number = _number(number_text, examples[word])
    if word == "done":
        return Finish(number) if not tail else _usage("`/focus done` takes only the item number.")
    if word == "drop":
        reason = plain_text(tail)
        if len(reason) > MAX_REASON_LENGTH:
            _usage(f"Keep the reason under {MAX_REASON_LENGTH} characters.")
        return Drop(number, reason)
    if word == "edit":
        text, owners = _item_text(tail, examples["edit"])
        return Edit(number, text, owners)
    if word == "move":
        return Move(number, _number(tail, examples["move"]))
    owners = tuple(mentioned_users(tail))
    if not owners or USER_MENTION.sub("", tail).strip():
        _usage(f"Mention the new owners, for example `{examples['owner']}`.")
    return SetOwners(number, owners)


def _parse_checkin(rest: str, example: str = "/focus checkin mon 09:30") -> Checkin:
    words = rest.split()
    if not words:
        return Checkin()
    if words == ["off"]:
        return Checkin(off=True)
    if len(words) not in (2, 3):
        _usage(f"Give a day and a 24-hour time, for example `{example}`, or `/focus checkin off`.")
    weekday, minute = parse_weekday(words[0]), parse_clock(words[1])
    if weekday is None:
        _usage(f"`{_quote(words[0])}` is not a weekday; try `{example}`.")
    if minute is None:
        _usage(f"`{_quote(words[1])}` is not a 24-hour time like 09:30; try `{example}`.")
    timezone = words[2] if len(words) == 3 else None
    if timezone is not None and not is_known_timezone(timezone):
        _usage(f"`{_quote(timezone)}` is not a timezone; try `{example} Europe/Berlin`.")
    return Checkin(weekday=weekday, minute=minute, timezone=timezone)


def _parse_across_post(rest: str) -> AcrossPost:
    example = "/focus digest here fri 16:00"
    words = rest.split()
    if not words:
        return AcrossPost()
    if words in (["off"], ["here", "off"]):
        return AcrossPost(off=True)
    if words[0] != "here" or len(words) not in (3, 4):
        _usage(
            f"Say `here`, a day and a 24-hour time, for example `{example}`, "
            "or `/focus digest off`."
        )
    checkin = _parse_checkin(" ".join(words[1:]), example)
    return AcrossPost(checkin.weekday, checkin.minute, checkin.timezone)


def _channel(rest: str, example: str) -> str:
    match = CHANNEL_ONLY.fullmatch(rest.strip())
    if match is None:
        raise UsageError(f"Name one channel, for example `{example}`.")
    return match.group(1)


def _item_text(raw: str, example: str) -> tuple[str, tuple[str, ...]]:
    owners = tuple(mentioned_users(raw))
    text = with_inner_mentions(plain_text(raw))
    if not without_mentions(text):
        _usage(f"Say what the item is, for example `{example}`.")
    if len(text) > MAX_ITEM_LENGTH:
        _usage(
            f"Keep an item short: at most {MAX_ITEM_LENGTH} characters (this one has "
            f"{len(text):,}). A focus item is a post-it, not a spec."
        )
    return text, owners


def _number(word: str, example: str) -> int:
    word = word.strip()
    if not word.isdecimal() or len(word) > 6:
        _usage(f"Give a number, for example `{example}`.")
    return int(word)


def _optional_number(rest: str, example: str) -> int | None:
    return None if not rest else _number(rest, example)


def _weeks_in_range(weeks: int | None, example: str, default: int) -> int:
    if weeks is None:
        return default
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return weeks


def _quote(word: str) -> str:
    return plain_text(word)[:40].replace("`", "'")


def _usage(message: str, *, show_usage: bool = False) -> Command:
    raise UsageError(message, show_usage=show_usage)
