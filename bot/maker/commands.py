"""Reading what people type after `/maker`: subcommands, durations and meeting times."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn

from bot.common.dates import day_text, moment_text
from bot.common.mentions import mentioned_users, plain_text
from bot.common.recurrence import (
    WEEKDAYS,
    format_clock,
    is_known_timezone,
    parse_clock,
    parse_weekday,
    zone,
)
from bot.common.usage import UsageError
from bot.maker.calendar import calendar_address
from bot.maker.schedule import WORKDAYS

DEFAULT_DURATION = timedelta(minutes=30)
MIN_DURATION, MAX_DURATION = timedelta(minutes=5), timedelta(hours=8)
DEFAULT_SLOT_DAYS, MAX_SLOT_DAYS = 5, 14
MAX_ATTENDEES = 1000
DEFAULT_KEPT_WEEKS, MAX_KEPT_WEEKS = 8, 26

USAGE = """\
/maker — today's and tomorrow's meeting windows, and whether now is maker time
/maker check <when> [duration] [attendees] — does a meeting cut into maker time? (`tue 10:30 45m 4`)
/maker slots [duration] [days] — the next free slots inside meeting windows (default 30m, 5 days)
/maker set windows <HH:MM-HH:MM>… — meeting windows (default 09:00-09:45 13:00-14:00 16:30-17:30)
/maker set day <HH:MM-HH:MM> — the working day; the rest of it outside windows is maker time
/maker set free <weekday>… | none — meeting-free weekdays
/maker set timezone <Area/City> — the team's timezone
/maker set defer on|off — move scheduled posts out of maker time to the next window
/maker set long <duration> | big <people> — when a meeting counts as long or big (30m, 6)
/maker set defaults — back to the default windows and day
/maker calendar <private iCal address> | off — watch your calendar (in your DM with me)
/maker kept chart [weeks] — maker time kept per week, as a picture (default 8 weeks)
/maker help — this text"""

WHEN_EXAMPLE = "/maker check tomorrow 14:00 45m"


class MakerError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Show:
    """Show today's and tomorrow's windows."""


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


@dataclass(frozen=True)
class SetCommand:
    """Change one thing of the team's schedule (all None: back to the defaults)."""

    windows: tuple[tuple[int, int], ...] | None = None
    day: tuple[int, int] | None = None
    meeting_free: frozenset[int] | None = None
    timezone: str | None = None
    defer_posts: bool | None = None
    long_minutes: int | None = None
    big_attendees: int | None = None


@dataclass(frozen=True)
class CheckCommand:
    """Check a planned meeting; `when` is read later, in the caller's timezone."""

    when: tuple[str, ...]
    duration: timedelta = DEFAULT_DURATION
    attendees: int | None = None


@dataclass(frozen=True)
class Slots:
    """List the next free slots inside meeting windows."""

    duration: timedelta = DEFAULT_DURATION
    days: int = DEFAULT_SLOT_DAYS


@dataclass(frozen=True)
class CalendarCommand:
    """Link a calendar address, unlink it (`off`), or show what is linked (both None)."""

    address: str | None = None
    off: bool = False


@dataclass(frozen=True)
class KeptChart:
    """Draw the maker time kept per week."""

    weeks: int = DEFAULT_KEPT_WEEKS


Command = Show | Help | SetCommand | CheckCommand | Slots | CalendarCommand | KeptChart

_DURATION = re.compile(r"^(?:(\d{1,2}(?:\.\d{1,2})?)h)?(?:(\d{1,3})m(?:in)?)?$")
_RANGE = re.compile(r"^(\d{1,2}:\d{2})[-–](\d{1,2}:\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{1,2}:\d{2})(?::00)?$")
_AMPM = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)$")


def parse_command(text: str) -> Command:
    """Read the text after `/maker`; raise UsageError with an example when it cannot be read."""
    word, _, rest = plain_text(text).strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "show", "today"):
        return Show() if not rest else _usage(f"`/maker {word}` takes nothing after it.")
    if word == "help":
        return Help()
    if word == "set":
        return _parse_set(rest)
    if word == "check":
        return _parse_check(rest, text)
    if word == "slots":
        return _parse_slots(rest)
    if word == "kept":
        return _parse_kept(rest)
    if word == "calendar":
        # Read the address from the raw text: Slack wraps links as <address|label>.
        return _parse_calendar(text.strip().partition(" ")[2].strip())
    return _usage(f"I don't know `/maker {_quote(word)}`.", show_usage=True)


def _parse_kept(rest: str) -> KeptChart:
    example = "/maker kept chart 8"
    what, _, weeks = rest.partition(" ")
    if what.lower() != "chart":
        _usage(f"Ask for the chart, for example `{example}`.")
    weeks = weeks.strip()
    if not weeks:
        return KeptChart()
    if not weeks.isdecimal() or not 1 <= int(weeks) <= MAX_KEPT_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_KEPT_WEEKS}, for example `{example}`.")
    return KeptChart(int(weeks))


def _parse_set(rest: str) -> SetCommand:
    what, _, value = rest.partition(" ")
    what, value = what.lower(), value.strip()
    words = value.replace(",", " ").split()
    if what in ("windows", "window"):
        example = "/maker set windows 09:00-09:45 13:00-14:00 16:30-17:30"
        if not words:
            _usage(f"Give the windows, for example `{example}`.")
        return SetCommand(windows=tuple(_range(word, example) for word in words))
    if what == "day":
        example = "/maker set day 09:00-17:30"
        if len(words) != 1:
            _usage(f"Give the working day as one range, for example `{example}`.")
        day = _range(words[0], example)
        if day[0] >= day[1]:
            _usage(f"The working day must end after it starts, for example `{example}`.")
        return SetCommand(day=day)
    if what == "free":
        return SetCommand(meeting_free=_weekdays(words))
    if what == "timezone":
        if (
            len(words) != 1
            or not is_known_timezone(words[0])
            or ("/" not in words[0] and words[0] != "UTC")
        ):
            _usage("Give an IANA timezone, for example `/maker set timezone Europe/Berlin`.")
        return SetCommand(timezone=words[0])
    if what == "defer":
        if words not in (["on"], ["off"]):
            _usage("Say `/maker set defer on` or `/maker set defer off`.")
        return SetCommand(defer_posts=words == ["on"])
    if what == "long":
        if len(words) != 1:
            _usage("Give a duration, for example `/maker set long 45m`.")
        return SetCommand(long_minutes=int(parse_duration(words[0]).total_seconds() // 60))
    if what == "big":
        if len(words) != 1 or not words[0].isdecimal() or not 2 <= int(words[0]) <= MAX_ATTENDEES:
            _usage("Give a number of people, for example `/maker set big 8`.")
        return SetCommand(big_attendees=int(words[0]))
    if what in ("defaults", "default", "reset") and not words:
        return SetCommand()
    return _usage(
        "Say what to set: `windows`, `day`, `free`, `timezone`, `defer`, `long`, `big` or "
        "`defaults`, for example `/maker set windows 09:00-09:45 13:00-14:00`."
    )


def _range(word: str, example: str) -> tuple[int, int]:
    match = _RANGE.match(word)
    start = parse_clock(match.group(1)) if match else None
    end_text = match.group(2) if match else ""
    end = 24 * 60 if end_text == "24:00" else parse_clock(end_text)
    if start is None or end is None:
        _usage(f"`{_quote(word)}` is not a range of 24-hour times; try `{example}`.")
    assert start is not None and end is not None
    return start, end


def _weekdays(words: list[str]) -> frozenset[int]:
    example = "/maker set free wed"
    if not words:
        _usage(
            f"Name the meeting-free weekdays, for example `{example}`, or `/maker set free none`."
        )
    if words == ["none"]:
        return frozenset()
    days = set()
    for word in words:
        day = parse_weekday(word)
        if day is None:
            _usage(f"`{_quote(word)}` is not a weekday; try `{example}`.")
        elif day not in WORKDAYS:
            _usage(f"{WEEKDAYS[day].capitalize()} is not a workday anyway; name Monday to Friday.")
        else:
            days.add(day)
    return frozenset(days)


def _parse_check(rest: str, raw: str) -> CheckCommand:
    words = plain_text(rest).split()
    mentions = mentioned_users(raw)
    when: list[str] = []
    duration: timedelta | None = None
    attendees: int | None = None
    for word in words:
        lowered = word.lower()
        if word.startswith("<@"):
            continue
        if (
            _DURATION.match(lowered)
            and any(c in lowered for c in "hm")
            and not _AMPM.match(lowered)
        ):
            if duration is not None:
                _usage(f"Give one duration, like `45m` or `1h30m`; try `{WHEN_EXAMPLE}`.")
            duration = parse_duration(lowered)
        elif word.isdecimal() and when:
            if attendees is not None:
                _usage("Give the number of attendees once; try `/maker check tue 10:30 45m 8`.")
            attendees = _attendees(word)
        elif duration is None and attendees is None:
            when.append(lowered)
        else:
            _usage(f"Put the time first, then the duration and attendees; try `{WHEN_EXAMPLE} 6`.")
    if not when:
        _usage(
            f"Say when the meeting is, for example `{WHEN_EXAMPLE}` or "
            "`/maker check 2026-12-02 15:00 1h 8`."
        )
    if attendees is None and mentions:
        attendees = len(mentions) + 1
    return CheckCommand(tuple(when), duration or DEFAULT_DURATION, attendees)


def _attendees(word: str) -> int:
    count = int(word) if len(word) < 6 else 0
    if not 1 <= count <= MAX_ATTENDEES:
        _usage(
            f"Attendees go from 1 to {MAX_ATTENDEES}, for example `/maker check tue 10:30 45m 8`."
        )
    return count


def parse_duration(word: str) -> timedelta:
    """Read `45m`, `1h`, `1h30m` or `1.5h`; raise UsageError outside 5 minutes to 8 hours."""
    match = _DURATION.match(word.lower())
    if not match or not (match.group(1) or match.group(2)):
        raise UsageError(
            f"`{_quote(word)}` is not a duration; write it like `45m`, `1h` or `1h30m`."
        )
    minutes = float(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    duration = timedelta(minutes=round(minutes))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise UsageError("A meeting lasts from 5 minutes to 8 hours, for example `45m` or `1h30m`.")
    return duration


def _parse_slots(rest: str) -> Slots:
    words = rest.split()
    example = "/maker slots 45m 3"
    duration, days = DEFAULT_DURATION, DEFAULT_SLOT_DAYS
    if len(words) > 2:
        _usage(f"Give at most a duration and a number of days, for example `{example}`.")
    for word in words:
        if word.isdecimal():
            days = int(word) if len(word) < 4 else 0
            if not 1 <= days <= MAX_SLOT_DAYS:
                _usage(f"Look from 1 to {MAX_SLOT_DAYS} days ahead, for example `{example}`.")
        else:
            try:
                duration = parse_duration(word)
            except UsageError as error:
                raise UsageError(f"{error} For example `{example}`.") from None
    return Slots(duration, days)


def _parse_calendar(rest: str) -> CalendarCommand:
    if not rest:
        return CalendarCommand()
    if rest.lower() == "off":
        return CalendarCommand(off=True)
    try:
        return CalendarCommand(address=calendar_address(rest))
    except ValueError:
        return _usage(
            "Give your calendar's private iCal address (it starts with https:// and usually ends "
            "in .ics), for example `/maker calendar https://calendar.example.com/private/…/basic.ics`."
        )


def _quote(word: str) -> str:
    return word[:40].replace("`", "'")


def _usage(message: str, *, show_usage: bool = False) -> NoReturn:
    raise UsageError(message, show_usage=show_usage)


def resolve_when(words: Sequence[str], timezone: str, now: datetime) -> datetime:
    """Read a meeting's start in the caller's timezone; raise UsageError for anything unclear.

    Forms: `14:00`, `tomorrow 14:00`, `fri 9:15`, `2026-12-02 15:00`, `2026-12-02T15:00`,
    and `2pm` / `9:15am` wherever a time goes.
    """
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    iso = _ISO_DATETIME.match(words[0]) if len(words) == 1 else None
    if iso:
        day_word, time_word = iso.group(1), iso.group(2)
    elif len(words) == 2:
        day_word, time_word = words
    elif len(words) == 1:
        day_word, time_word = "", words[0]
    else:
        raise UsageError(
            f"I can't read `{_quote(' '.join(words))}` as a time; for example `{WHEN_EXAMPLE}`."
        )
    minute = _clock(time_word)
    day = _day(day_word, today) if day_word else today
    moment = _wall_clock(day, minute, timezone)
    if not day_word and moment <= now:
        moment = _wall_clock(day + timedelta(days=1), minute, timezone)
    if day_word and parse_weekday(day_word) is not None and moment <= now:
        moment = _wall_clock(day + timedelta(days=7), minute, timezone)
    if moment <= now:
        raise UsageError(
            f"That is in the past ({moment_text(moment.astimezone(tz))}). "
            f"Give a time ahead, for example `{WHEN_EXAMPLE}`."
        )
    if moment > now + timedelta(days=366):
        raise UsageError("That is more than a year away; check a meeting within the next year.")
    return moment


def _clock(word: str) -> int:
    minute = parse_clock(word)
    ampm = _AMPM.match(word)
    if minute is None and ampm:
        hours, minutes = int(ampm.group(1)), int(ampm.group(2) or 0)
        if 1 <= hours <= 12 and minutes < 60:
            minute = (hours % 12 + (12 if ampm.group(3) == "pm" else 0)) * 60 + minutes
    if minute is None:
        hint = " (morning or afternoon?)" if word.isdecimal() else ""
        raise UsageError(
            f"`{_quote(word)}` is not a time{hint}. Use 24-hour time like 09:15 or 14:00, "
            f"for example `{WHEN_EXAMPLE}`."
        )
    return minute


def _day(word: str, today: date) -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    weekday = parse_weekday(word)
    if weekday is not None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    if _ISO_DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            raise UsageError(
                f"`{_quote(word)}` is not a date on the calendar; for example `2026-12-02`."
            ) from None
    raise UsageError(
        f"`{_quote(word)}` is not a day I know: say today, tomorrow, a weekday like `fri` or a "
        f"date like `2026-12-02`, for example `{WHEN_EXAMPLE}`."
    )


def _wall_clock(day: date, minute: int, timezone: str) -> datetime:
    tz = zone(timezone)
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        moment = first.astimezone(UTC)
        if moment.astimezone(tz).replace(tzinfo=None) != wall:
            raise UsageError(
                f"{format_clock(minute)} does not exist on {day_text(day)} in {timezone}: the "
                "clocks skip that hour. Pick another time, for example one hour later."
            )
        raise UsageError(
            f"{format_clock(minute)} happens twice on {day_text(day)} in {timezone}: the clocks "
            "go back that night. Pick a time outside that hour, for example one hour later."
        )
    return first.astimezone(UTC)
