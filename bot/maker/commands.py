"""Maker time: a team's meeting windows, checks of planned meetings, slots, and calendar watch."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.common.mentions import mentioned_users, plain_text
from bot.common.recurrence import (
    WEEKDAYS,
    format_clock,
    is_known_timezone,
    parse_clock,
    parse_weekday,
    zone,
)
from bot.maker.calendar import (
    calendar_address,
)
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerSchedule

WORKDAYS = frozenset(range(5))
DEFAULT_WINDOWS = ((9 * 60, 9 * 60 + 45), (13 * 60, 14 * 60), (16 * 60 + 30, 17 * 60 + 30))
DEFAULT_DAY = (9 * 60, 17 * 60 + 30)
DEFAULT_LONG_MINUTES = 30
DEFAULT_BIG_ATTENDEES = 6
DEFAULT_DURATION = timedelta(minutes=30)
MIN_DURATION, MAX_DURATION = timedelta(minutes=5), timedelta(hours=8)
DEFAULT_SLOT_DAYS, MAX_SLOT_DAYS = 5, 14
MAX_WINDOWS = 8
MAX_ATTENDEES = 1000
SLOT_STEP = timedelta(minutes=15)
SUGGESTED_SLOTS = 3
LISTED_SLOTS = 10
SEARCH_DAYS = 21

MEETING_PEOPLE = 2

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
/maker help — this text"""

WHEN_EXAMPLE = "/maker check tomorrow 14:00 45m"


class UsageError(Exception):
    """The command could not be read; the message says how to write it."""


class MakerError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Span:
    """A stretch of time, in UTC, start inclusive and end exclusive."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """Return how long the stretch lasts."""
        return self.end - self.start

    def overlap(self, other: "Span") -> timedelta:
        """Return how much of the other stretch falls in this one."""
        return max(min(self.end, other.end) - max(self.start, other.start), timedelta(0))


@dataclass(frozen=True)
class TeamSchedule:
    """A team's working day, meeting windows (minutes after local midnight) and rules."""

    timezone: str
    windows: tuple[tuple[int, int], ...] = DEFAULT_WINDOWS
    day: tuple[int, int] = DEFAULT_DAY
    meeting_free: frozenset[int] = frozenset()
    long_minutes: int = DEFAULT_LONG_MINUTES
    big_attendees: int = DEFAULT_BIG_ATTENDEES
    defer_posts: bool = True
    is_default: bool = False


# --- the team's schedule -----------------------------------------------------------------------


def schedule_of(row: MakerSchedule) -> TeamSchedule:
    """Return the rules a stored schedule holds."""
    return TeamSchedule(
        timezone=row.timezone,
        windows=decode_windows(row.windows),
        day=(row.day_start, row.day_end),
        meeting_free=frozenset(int(d) for d in row.meeting_free_days.split(",") if d.isdigit()),
        long_minutes=row.long_minutes,
        big_attendees=row.big_attendees,
        defer_posts=row.defer_posts,
    )


def default_schedule(timezone: str) -> TeamSchedule:
    """Return the default schedule in a timezone, for a team that has not set one up."""
    return TeamSchedule(timezone=timezone, is_default=True)


def decode_windows(text: str) -> tuple[tuple[int, int], ...]:
    """Read stored windows (`540-585,780-840`)."""
    windows = []
    for part in text.split(","):
        start, _, end = part.partition("-")
        if start.isdigit() and end.isdigit():
            windows.append((int(start), int(end)))
    return tuple(windows)


def encode_windows(windows: Iterable[tuple[int, int]]) -> str:
    """Write windows for storage."""
    return ",".join(f"{start}-{end}" for start, end in windows)


def find_schedule(session: Session, workspace: Workspace, channel_id: str) -> TeamSchedule | None:
    """Return a channel's schedule, if it has set one up."""
    row = store.find_schedule(session, workspace, channel_id)
    return schedule_of(row) if row is not None else None


def schedule_for(
    session: Session, workspace: Workspace, channel_id: str, user_id: str, timezone: str
) -> tuple[TeamSchedule, str | None]:
    """Return the schedule that applies where someone asks, and the team channel it belongs to.

    In a channel it is the channel's own (or the defaults); in a DM, that of the person's first
    team, or the defaults in their timezone.
    """
    if is_direct(channel_id):
        rows = store.schedules_of_member(session, workspace, user_id)
        if rows:
            return schedule_of(rows[0]), rows[0].channel_id
        return default_schedule(timezone), None
    row = store.find_schedule(session, workspace, channel_id)
    return (schedule_of(row) if row else default_schedule(timezone)), channel_id


def is_direct(channel_id: str) -> bool:
    """Tell whether a conversation is a DM (or a user id used as one)."""
    return channel_id.startswith(("D", "U", "W"))


def note_member(
    session: Session, workspace: Workspace, channel_id: str, user_id: str, now: datetime
) -> None:
    """Remember that someone belongs to a team channel (they used `/maker` there)."""
    if is_direct(channel_id):
        return
    member = store.find_member(session, workspace, channel_id, user_id)
    if member is not None:
        member.seen_at = now
        session.add(member)
        return
    try:
        with session.begin_nested():
            session.add(
                store.MakerMember(
                    enterprise_id=workspace.enterprise_id,
                    team_id=workspace.team_id,
                    channel_id=channel_id,
                    user_id=user_id,
                    seen_at=now,
                )
            )
    except IntegrityError:
        pass  # the same person's concurrent command recorded it a moment ago


def day_spans(schedule: TeamSchedule, day: date) -> tuple[list[Span], list[Span]]:
    """Return a team-local day's meeting windows and maker time, in UTC."""
    if day.weekday() not in WORKDAYS:
        return [], []
    start, end = schedule.day
    windows = [] if day.weekday() in schedule.meeting_free else list(schedule.windows)
    maker: list[Span] = []
    cursor = start
    for window_start, window_end in windows:
        if window_start > cursor:
            maker.append(_span(day, cursor, window_start, schedule.timezone))
        cursor = max(cursor, window_end)
    if cursor < end:
        maker.append(_span(day, cursor, end, schedule.timezone))
    return [_span(day, s, e, schedule.timezone) for s, e in windows], maker


def _span(day: date, start_minute: int, end_minute: int, timezone: str) -> Span:
    return Span(_local(day, start_minute, timezone), _local(day, end_minute, timezone))


def _local(day: date, minute: int, timezone: str) -> datetime:
    if minute >= 24 * 60:
        return _local(day + timedelta(days=1), minute - 24 * 60, timezone)
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone(timezone))
    return wall.astimezone(UTC)


def spans_between(
    schedule: TeamSchedule, start: datetime, end: datetime
) -> tuple[list[Span], list[Span]]:
    """Return the meeting windows and maker time overlapping [start, end), clipped to it."""
    tz = zone(schedule.timezone)
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    windows: list[Span] = []
    maker: list[Span] = []
    while day <= last:
        day_windows, day_maker = day_spans(schedule, day)
        windows += _clipped(day_windows, start, end)
        maker += _clipped(day_maker, start, end)
        day += timedelta(days=1)
    return windows, maker


def _clipped(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    return [
        Span(max(span.start, start), min(span.end, end))
        for span in spans
        if span.end > start and span.start < end
    ]


def in_maker_time(schedule: TeamSchedule, moment: datetime) -> bool:
    """Tell whether a moment falls in the team's maker time."""
    _, maker = spans_between(schedule, moment, moment + timedelta(seconds=1))
    return bool(maker)


def next_window_start(schedule: TeamSchedule, after: datetime) -> datetime | None:
    """Return when the next meeting window opens after a moment; None if none comes soon."""
    windows, _ = spans_between(schedule, after, after + timedelta(days=SEARCH_DAYS))
    starts = [span.start for span in windows if span.start > after]
    return min(starts) if starts else None


@dataclass(frozen=True)
class Now:
    """What the team's time is at a moment: maker time, a meeting window, or off hours."""

    state: str  # "maker", "window" or "off"
    until: datetime | None


def now_state(schedule: TeamSchedule, now: datetime) -> Now:
    """Say what kind of time it is now, and until when."""
    windows, maker = spans_between(schedule, now, now + timedelta(days=SEARCH_DAYS))
    for state, spans in (("window", windows), ("maker", maker)):
        for span in spans:
            if span.start == now:
                return Now(state, span.end)
    upcoming = [span.start for span in windows + maker if span.start > now]
    return Now("off", min(upcoming) if upcoming else None)


def defer_until(
    session: Session, workspace: Workspace, channel_id: str, now: datetime
) -> datetime | None:
    """Return when a post due now in the channel should go instead: the next window's start.

    None when the post may go now: outside maker time, in a DM, in a channel without a
    schedule, or when the team turned deferral off.
    """
    if is_direct(channel_id):
        return None
    schedule = find_schedule(session, workspace, channel_id)
    if schedule is None or not schedule.defer_posts or not in_maker_time(schedule, now):
        return None
    return next_window_start(schedule, now)


def windows_on_days(
    schedule: TeamSchedule, days: Sequence[date], timezone: str
) -> dict[date, list[Span]]:
    """Return the meeting windows that start on each of the caller's local days."""
    tz = zone(timezone)
    start = datetime.combine(days[0], time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    windows, _ = spans_between(schedule, start, end)
    found: dict[date, list[Span]] = {day: [] for day in days}
    for span in windows:
        local_day = span.start.astimezone(tz).date()
        if local_day in found:
            found[local_day].append(span)
    return found


# --- changing the schedule ---------------------------------------------------------------------


def save_schedule(
    session: Session,
    workspace: Workspace,
    channel_id: str,
    change: "SetCommand",
    actor: str,
    timezone: str,
    now: datetime,
) -> TeamSchedule:
    """Apply a change to the channel's schedule (creating it on first use); refuse bad ones."""
    if is_direct(channel_id):
        raise MakerError("A team's schedule belongs to its channel: run `/maker set …` there.")
    row = store.find_schedule(session, workspace, channel_id)
    current = schedule_of(row) if row is not None else TeamSchedule(timezone=timezone)
    updated = apply_change(current, change)
    if row is None:
        row = MakerSchedule(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            channel_id=channel_id,
            updated_by=actor,
            updated_at=now,
        )
    row.timezone = updated.timezone
    row.windows = encode_windows(updated.windows)
    row.day_start, row.day_end = updated.day
    row.meeting_free_days = ",".join(str(day) for day in sorted(updated.meeting_free))
    row.long_minutes, row.big_attendees = updated.long_minutes, updated.big_attendees
    row.defer_posts = updated.defer_posts
    row.updated_by, row.updated_at = actor, now
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise MakerError("Someone changed the schedule at the same moment; try again.") from None
    note_member(session, workspace, channel_id, actor, now)
    return updated


def apply_change(schedule: TeamSchedule, change: "SetCommand") -> TeamSchedule:
    """Return the schedule with one change; raise MakerError for a rule it would break."""
    if change.windows is not None:
        _check_windows(change.windows, schedule.day)
        return replace(schedule, windows=tuple(sorted(change.windows)))
    if change.day is not None:
        outside = [w for w in schedule.windows if w[0] < change.day[0] or w[1] > change.day[1]]
        if outside:
            raise MakerError(
                f"The window {_window_text(outside[0])} would fall outside a working day of "
                f"{_window_text(change.day)}. Change the windows first. Nothing was changed."
            )
        return replace(schedule, day=change.day)
    if change.meeting_free is not None:
        if change.meeting_free >= WORKDAYS:
            raise MakerError(
                "At least one workday needs meeting windows, or nothing can be planned. "
                "Nothing was changed."
            )
        return replace(schedule, meeting_free=change.meeting_free)
    if change.timezone is not None:
        return replace(schedule, timezone=change.timezone)
    if change.defer_posts is not None:
        return replace(schedule, defer_posts=change.defer_posts)
    if change.long_minutes is not None:
        return replace(schedule, long_minutes=change.long_minutes)
    if change.big_attendees is not None:
        return replace(schedule, big_attendees=change.big_attendees)
    return replace(schedule, windows=DEFAULT_WINDOWS, day=DEFAULT_DAY, meeting_free=frozenset())


def _check_windows(windows: Sequence[tuple[int, int]], day: tuple[int, int]) -> None:
    if not windows:
        raise MakerError("Give at least one window. Nothing was changed.")
    if len(windows) > MAX_WINDOWS:
        raise MakerError(f"Keep it to {MAX_WINDOWS} windows a day. Nothing was changed.")
    ordered = sorted(windows)
    for window in ordered:
        if window[0] >= window[1]:
            raise MakerError(
                f"The window {_window_text(window)} is empty: it must end after it starts. "
                "Nothing was changed."
            )
        if window[0] < day[0] or window[1] > day[1]:
            raise MakerError(
                f"The window {_window_text(window)} is outside the working day "
                f"({_window_text(day)}). Nothing was changed."
            )
    for earlier, later in pairwise(ordered):
        if later[0] < earlier[1]:
            raise MakerError(
                f"The windows {_window_text(earlier)} and {_window_text(later)} overlap. "
                "Nothing was changed."
            )


def _window_text(window: tuple[int, int]) -> str:
    return f"{format_clock(window[0])}–{format_clock(window[1])}"


# --- checking a meeting, finding slots ---------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """What a planned meeting costs the team."""

    meeting: Span
    maker_time: timedelta
    outside_day: timedelta
    attendees: int | None
    is_long: bool
    is_big: bool
    slots: tuple[Span, ...]


def check_meeting(
    schedule: TeamSchedule,
    start: datetime,
    duration: timedelta,
    attendees: int | None,
    busy: Sequence[Span],
    now: datetime,
) -> Check:
    """Say how much a meeting cuts into maker time; offer window slots unless it fits one."""
    meeting = Span(start, start + duration)
    windows, maker = spans_between(schedule, meeting.start, meeting.end)
    in_maker = sum((span.length for span in maker), timedelta(0))
    in_windows = sum((span.length for span in windows), timedelta(0))
    return Check(
        meeting=meeting,
        maker_time=in_maker,
        outside_day=duration - in_maker - in_windows,
        attendees=attendees,
        is_long=duration > timedelta(minutes=schedule.long_minutes),
        is_big=attendees is not None and attendees > schedule.big_attendees,
        slots=() if in_windows == duration else nearest_slots(schedule, meeting, busy, now),
    )


def nearest_slots(
    schedule: TeamSchedule,
    meeting: Span,
    busy: Sequence[Span],
    now: datetime,
    limit: int = SUGGESTED_SLOTS,
) -> tuple[Span, ...]:
    """Return the free window slots closest in time to a meeting, not in the past."""
    search_from = max(now, meeting.start - timedelta(days=3))
    candidates = free_slots(
        schedule, search_from, meeting.start + timedelta(days=7), meeting.length, busy
    )
    closest = sorted(candidates, key=lambda slot: abs(slot.start - meeting.start))[:limit]
    return tuple(sorted(closest, key=lambda slot: slot.start))


def free_slots(
    schedule: TeamSchedule,
    after: datetime,
    until: datetime,
    duration: timedelta,
    busy: Sequence[Span],
    limit: int | None = None,
) -> list[Span]:
    """Return the first free slot of that length in each meeting window between two moments."""
    windows, _ = spans_between(schedule, after, until)
    slots: list[Span] = []
    for window in windows:
        slot = _first_free(window, after, duration, busy)
        if slot is not None:
            slots.append(slot)
            if limit is not None and len(slots) >= limit:
                break
    return slots


def _first_free(
    window: Span, after: datetime, duration: timedelta, busy: Sequence[Span]
) -> Span | None:
    # A window already under way offers its next quarter hour, not an odd minute.
    start = window.start if window.start > after else _round_up(after)
    while start + duration <= window.end:
        slot = Span(start, start + duration)
        clash = [span.end for span in busy if span.overlap(slot) > timedelta(0)]
        if not clash:
            return slot
        start = _round_up(max(clash))
    return None


def _round_up(moment: datetime) -> datetime:
    origin = datetime.combine(moment.date(), time(), tzinfo=UTC)
    steps = -(-(moment - origin) // SLOT_STEP)
    return origin + steps * SLOT_STEP


def longest_window(schedule: TeamSchedule) -> timedelta:
    """Return the length of the team's longest meeting window."""
    return max((timedelta(minutes=e - s) for s, e in schedule.windows), default=timedelta(0))


def busy_of_team(
    session: Session,
    workspace: Workspace,
    channel_id: str | None,
    user_id: str,
    start: datetime,
    end: datetime,
) -> tuple[list[Span], int]:
    """Return when the team's linked calendars are busy, and how many calendars that is.

    A team channel counts its members' calendars; anywhere else only the person's own.
    """
    if channel_id is None:
        own = store.find_calendar(session, workspace, user_id)
        calendars = [own] if own is not None else []
    else:
        calendars = store.calendars_of_channel(session, workspace, channel_id)
    ids = [calendar.id for calendar in calendars if calendar.id is not None]
    meetings = store.meetings_between(session, ids, start, end)
    return [Span(meeting.start, meeting.end) for meeting in meetings], len(ids)


# --- reading what people type ------------------------------------------------------------------


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


Command = Show | Help | SetCommand | CheckCommand | Slots | CalendarCommand

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
    if word == "calendar":
        # Read the address from the raw text: Slack wraps links as <address|label>.
        return _parse_calendar(text.strip().partition(" ")[2].strip())
    return _usage(f"I don't know `/maker {_quote(word)}`.")


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


def _usage(message: str) -> NoReturn:
    raise UsageError(message)


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
            f"That is in the past ({moment.astimezone(tz):%a %d %b %Y %H:%M}). "
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
                f"{format_clock(minute)} does not exist on {day:%a %d %b %Y} in {timezone}: the "
                "clocks skip that hour. Pick another time, for example one hour later."
            )
        raise UsageError(
            f"{format_clock(minute)} happens twice on {day:%a %d %b %Y} in {timezone}: the clocks "
            "go back that night. Pick a time outside that hour, for example one hour later."
        )
    return first.astimezone(UTC)


# --- maker time kept ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """How much of a team's maker time stayed free of meetings, and who took the rest."""

    maker_time: timedelta
    in_meetings: timedelta
    calendars: int
    sources: tuple[tuple[str, timedelta, int], ...]

    @property
    def share(self) -> float:
        """Return the share of maker time kept, from 0 to 1."""
        if not self.maker_time:
            return 1.0
        return 1 - self.in_meetings / self.maker_time


def maker_time_kept(
    session: Session, workspace: Workspace, channel_id: str, start: datetime, end: datetime
) -> Kept | None:
    """Measure a team's maker time kept over a stretch; None without a schedule or calendars."""
    schedule = find_schedule(session, workspace, channel_id)
    calendars = store.calendars_of_channel(session, workspace, channel_id)
    if schedule is None or not calendars:
        return None
    _, maker = spans_between(schedule, start, end)
    per_person = sum((span.length for span in maker), timedelta(0))
    lost = timedelta(0)
    sources: dict[str, tuple[timedelta, int]] = {}
    for calendar in calendars:
        assert calendar.id is not None
        meetings = [
            m
            for m in store.meetings_between(session, [calendar.id], start, end)
            if m.people >= MEETING_PEOPLE
        ]
        lost += _covered(maker, [Span(m.start, m.end) for m in meetings])
        for meeting in meetings:
            cost = sum(
                (part.overlap(Span(meeting.start, meeting.end)) for part in maker), timedelta(0)
            )
            if cost:
                source = meeting.organizer or "no organizer named"
                total, count = sources.get(source, (timedelta(0), 0))
                sources[source] = (total + cost, count + 1)
    ranked = sorted(sources.items(), key=lambda item: (-item[1][0], item[0]))
    return Kept(
        maker_time=per_person * len(calendars),
        in_meetings=lost,
        calendars=len(calendars),
        sources=tuple((name, cost, count) for name, (cost, count) in ranked),
    )


def _covered(maker: Sequence[Span], meetings: Sequence[Span]) -> timedelta:
    total = timedelta(0)
    for part in maker:
        cursor = part.start
        for meeting in sorted(meetings, key=lambda m: m.start):
            start, end = max(meeting.start, cursor), min(meeting.end, part.end)
            if end > start:
                total += end - start
                cursor = end
    return total


def describe_kept(kept: Kept) -> list[str]:
    """Say, in plain lines, how much maker time was kept and where the meetings came from."""
    calendars = "1 linked calendar" if kept.calendars == 1 else f"{kept.calendars} linked calendars"
    lines = [
        f"Maker time kept: {kept.share:.0%} ({hours(kept.maker_time - kept.in_meetings)} of "
        f"{hours(kept.maker_time)}, {calendars})"
    ]
    for name, cost, count in kept.sources[:5]:
        meetings = "1 meeting" if count == 1 else f"{count} meetings"
        lines.append(f"Meetings in maker time from {name}: {hours(cost)} ({meetings})")
    return lines


def hours(duration: timedelta) -> str:
    """Write a duration as `3h 15m`, `45m` or `2h`."""
    minutes = int(duration.total_seconds() // 60)
    whole, rest = divmod(minutes, 60)
    if not whole:
        return f"{rest}m"
    return f"{whole}h" if not rest else f"{whole}h {rest}m"


def digest_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the week's "maker time kept" figure for the digest."""
    kept = maker_time_kept(session, window.workspace, window.channel_id, window.start, window.end)
    if kept is None:
        return None
    return DigestSection(
        "Maker time", tuple(DigestLine(line) for line in describe_kept(kept)), order=40
    )
