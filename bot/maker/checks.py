"""Checks of a planned meeting against maker time, and free slots in meeting windows."""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session

from bot.maker.schedule import Span, TeamSchedule, spans_between
from storage import maker as store
from storage.base import Workspace

SLOT_STEP = timedelta(minutes=15)
SUGGESTED_SLOTS = 3
SEARCH_BEFORE = timedelta(days=3)  # how far around a meeting its nearest slots are looked for
SEARCH_AFTER = timedelta(days=7)
LISTED_SLOTS = 10


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
    search_from, search_until = slot_search(meeting.start, now)
    candidates = free_slots(schedule, search_from, search_until, meeting.length, busy)
    closest = sorted(candidates, key=lambda slot: abs(slot.start - meeting.start))[:limit]
    return tuple(sorted(closest, key=lambda slot: slot.start))


def slot_search(meeting_start: datetime, now: datetime) -> tuple[datetime, datetime]:
    """Return the stretch in which a meeting's nearest slots are looked for (only its busy
    time matters)."""
    return max(now, meeting_start - SEARCH_BEFORE), meeting_start + SEARCH_AFTER


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
    taken = _taken(busy)
    ends = [span.end for span in taken]
    slots: list[Span] = []
    for window in windows:
        slot = _first_free(window, after, duration, taken, ends)
        if slot is not None:
            slots.append(slot)
            if limit is not None and len(slots) >= limit:
                break
    return slots


def _taken(busy: Sequence[Span]) -> list[Span]:
    """Return the busy time as stretches apart from each other, earliest first.

    A slot overlaps a stretch exactly when it overlaps one of the spans in it, so the search
    looks at one stretch per step instead of at every span.
    """
    taken: list[Span] = []
    for span in sorted((span for span in busy if span.start < span.end), key=_start_of):
        if taken and span.start <= taken[-1].end:
            if span.end > taken[-1].end:
                taken[-1] = Span(taken[-1].start, span.end)
        else:
            taken.append(span)
    return taken


def _start_of(span: Span) -> datetime:
    return span.start


def _first_free(
    window: Span, after: datetime, duration: timedelta, taken: list[Span], ends: list[datetime]
) -> Span | None:
    # A window already under way offers its next quarter hour, not an odd minute.
    start = window.start if window.start > after else _round_up(after)
    while start + duration <= window.end:
        index = bisect_right(ends, start)  # the first stretch still busy at `start`
        if index == len(taken) or taken[index].start >= start + duration:
            return Span(start, start + duration)
        start = _round_up(taken[index].end)
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
    if channel_id is not None:
        meetings, calendars = store.meetings_of_channel(session, workspace, channel_id, start, end)
        return [Span(begin, until) for begin, until in meetings], calendars
    own = store.find_calendar(session, workspace, user_id)
    ids = [own.id] if own is not None and own.id is not None else []
    return [Span(m.start, m.end) for m in store.meetings_between(session, ids, start, end)], len(
        ids
    )
