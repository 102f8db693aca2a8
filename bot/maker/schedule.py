"""A team's schedule: its working day and meeting windows, maker time, and post deferral."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from sqlmodel import Session

from bot.common.recurrence import zone
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerSchedule

WORKDAYS = frozenset(range(5))
DEFAULT_WINDOWS = ((9 * 60, 9 * 60 + 45), (13 * 60, 14 * 60), (16 * 60 + 30, 17 * 60 + 30))
DEFAULT_DAY = (9 * 60, 17 * 60 + 30)
DEFAULT_LONG_MINUTES = 30
DEFAULT_BIG_ATTENDEES = 6
SEARCH_DAYS = 21

MEETING_PEOPLE = 2


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
    if not is_direct(channel_id):
        store.note_member(session, workspace, channel_id, user_id, now)


@lru_cache(maxsize=4096)  # every /maker check and slots asks for the same weeks again
def day_spans(schedule: TeamSchedule, day: date) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Return a team-local day's meeting windows and maker time, in UTC."""
    if day.weekday() not in WORKDAYS:
        return (), ()
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
    return tuple(_span(day, s, e, schedule.timezone) for s, e in windows), tuple(maker)


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
    return _deferred_until(find_schedule(session, workspace, channel_id), now)


def defer_many(
    session: Session, places: Collection[tuple[Workspace, str]], now: datetime
) -> dict[tuple[Workspace, str], datetime]:
    """Return until when posts due now in several channels should wait, in one query.

    Only the channels whose posts must wait are named, with their next window's start.
    """
    channels = [(workspace, channel) for workspace, channel in places if not is_direct(channel)]
    deferred: dict[tuple[Workspace, str], datetime] = {}
    for place, row in store.schedules_in(session, channels).items():
        until = _deferred_until(schedule_of(row), now)
        if until is not None:
            deferred[place] = until
    return deferred


def _deferred_until(schedule: TeamSchedule | None, now: datetime) -> datetime | None:
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
