"""Calendar watch: linked calendars read every few minutes, conflicts with maker time DMed once."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common import outbox
from bot.maker.calendar import Expansion, Occurrence, expand
from bot.maker.checks import nearest_slots
from bot.maker.commands import MakerError
from bot.maker.feeds import FeedError, ensure_public, fetch_feed, masked
from bot.maker.schedule import (
    MEETING_PEOPLE,
    Span,
    TeamSchedule,
    default_schedule,
    is_direct,
    schedule_of,
    spans_between,
)
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerCalendar, MakerMeeting

log = logging.getLogger(__name__)

POLL_KIND = "maker.calendar_poll"
CONFLICT_KIND = "maker.conflict"
BROKEN_FEED_KIND = "maker.feed_broken"
PARTLY_READ_KIND = "maker.feed_partly_read"
POLL_EVERY = timedelta(minutes=15)
EXPAND_EVERY = timedelta(hours=6)
WATCH_PAST = timedelta(days=7)
WATCH_AHEAD = timedelta(days=14)


@dataclass(frozen=True)
class CalendarStatus:
    """What a person sees of their linked calendar."""

    linked: bool
    shown_address: str = ""
    last_read_at: datetime | None = None
    problem: str | None = None
    unreadable: int = 0


def link_calendar(
    session: Session,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    address: str,
    now: datetime,
    *,
    allow_private: bool = False,
) -> MakerCalendar:
    """Store a member's private calendar address and read it at once; only in their DM."""
    _require_direct(channel_id)
    if not allow_private:
        try:
            ensure_public(address)
        except FeedError as problem:
            raise MakerError(f"I can't use that address: {problem}. Nothing was stored.") from None
    calendar = store.find_calendar(session, workspace, user_id)
    if calendar is None:
        calendar = MakerCalendar(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            user_id=user_id,
            url=address,
            linked_at=now,
        )
    else:
        _forget_reads(session, calendar)
        calendar.url, calendar.linked_at = address, now
        calendar.etag = calendar.last_modified = None
        calendar.last_read_at = calendar.expanded_at = None
        calendar.failing_since, calendar.last_error = None, None
        calendar.unreadable_entries = 0
    session.add(calendar)
    session.flush()
    schedule_poll(session, calendar, now, now)
    return calendar


def unlink_calendar(session: Session, workspace: Workspace, user_id: str, channel_id: str) -> bool:
    """Forget a member's calendar and everything read from it; False if none was linked."""
    _require_direct(channel_id)
    calendar = store.find_calendar(session, workspace, user_id)
    if calendar is None:
        return False
    _forget_reads(session, calendar)
    session.delete(calendar)
    return True


def _forget_reads(session: Session, calendar: MakerCalendar) -> None:
    outbox.cancel_pending(session, _workspace(calendar), calendar.user_id, POLL_KIND)
    assert calendar.id is not None
    store.forget_meetings(session, calendar.id)


def _require_direct(channel_id: str) -> None:
    if not is_direct(channel_id):
        raise MakerError(
            "Your calendar's address is private: link or unlink it in your DM with me, "
            "not here. Nothing was stored."
        )


def calendar_status(session: Session, workspace: Workspace, user_id: str) -> CalendarStatus:
    """Say whether a person's calendar is linked, which one (masked), and how reading it goes."""
    calendar = store.find_calendar(session, workspace, user_id)
    if calendar is None:
        return CalendarStatus(linked=False)
    return CalendarStatus(
        True,
        masked(calendar.url),
        calendar.last_read_at,
        calendar.last_error,
        calendar.unreadable_entries,
    )


def schedule_poll(session: Session, calendar: MakerCalendar, due: datetime, now: datetime) -> None:
    """Put the calendar's next reading in the outbox."""
    outbox.schedule_post(
        session,
        workspace=_workspace(calendar),
        channel_id=calendar.user_id,
        kind=POLL_KIND,
        due_at=due,
        key=f"{POLL_KIND}:{calendar.id}:{due.isoformat()}",
        now=now,
        payload={"calendar_id": calendar.id},
    )


@dataclass(frozen=True)
class Conflict:
    """A meeting from a member's calendar that falls in their team's maker time."""

    occurrence_key: str
    summary: str
    meeting: Span
    people: int
    maker_time: timedelta
    team_channel: str | None
    slots: tuple[Span, ...]


@dataclass
class WatchResult:
    """What one reading of a calendar found."""

    conflicts: list[Conflict] = field(default_factory=list)
    problem: str | None = None
    newly_broken: bool = False
    newly_unreadable: int = 0


@dataclass(frozen=True)
class Reading:
    """One reading of a calendar: what it needs from the database, taken before the fetch."""

    calendar_id: int
    url: str
    linked_at: datetime
    etag: str | None
    last_modified: str | None
    timezone: str
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What fetching a feed brought: its expansion, nothing new (None), or a problem."""

    expansion: Expansion | None
    problem: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def begin_reading(
    session: Session, calendar: MakerCalendar, timezone: str, now: datetime
) -> Reading:
    """Queue the calendar's next reading and return what this one needs to fetch its feed."""
    assert calendar.id is not None
    schedule_poll(session, calendar, now + POLL_EVERY, now)
    # An unchanged feed still has to be expanded again now and then: the horizon moves on.
    fresh = calendar.expanded_at is not None and now - calendar.expanded_at < EXPAND_EVERY
    return Reading(
        calendar.id,
        calendar.url,
        calendar.linked_at,
        calendar.etag if fresh else None,
        calendar.last_modified if fresh else None,
        timezone,
        now,
    )


def read_feed(reading: Reading, *, allow_private: bool = False) -> Outcome:
    """Fetch and expand the feed; it needs no database, so none is held while the server answers."""
    try:
        fetched = fetch_feed(
            reading.url,
            reading.etag,
            reading.last_modified,
            allow_private=allow_private,
        )
        if fetched.body is None:
            return Outcome(None, None, fetched.etag, fetched.last_modified)
        window = (reading.now - WATCH_PAST, reading.now + WATCH_AHEAD)
        expansion = expand(fetched.body, *window, reading.timezone)
        return Outcome(expansion, None, fetched.etag, fetched.last_modified)
    except FeedError as problem:
        return Outcome(None, str(problem))
    except Exception:  # a calendar no one foresaw: the member hears of it, the worker goes on
        log.exception("calendar %s could not be read", reading.calendar_id)
        return Outcome(None, "the calendar file could not be read")


def finish_reading(session: Session, reading: Reading, outcome: Outcome) -> WatchResult | None:
    """Store what was read and queue the DMs it calls for; None if the calendar was unlinked."""
    calendar = session.get(MakerCalendar, reading.calendar_id)
    if calendar is None or (calendar.url, calendar.linked_at) != (reading.url, reading.linked_at):
        return None  # unlinked, or linked anew, while the feed was being read
    now, result = reading.now, WatchResult()
    if outcome.problem is not None:
        result.problem = outcome.problem
        result.newly_broken = calendar.failing_since is None
        calendar.failing_since = calendar.failing_since or now
        calendar.last_error = outcome.problem[:200]
    else:
        if outcome.expansion is not None:
            _store_meetings(session, calendar, outcome.expansion.occurrences, now)
            calendar.etag, calendar.last_modified = outcome.etag, outcome.last_modified
            calendar.expanded_at = now
            result.newly_unreadable = _note_unreadable(calendar, outcome.expansion.unreadable)
        calendar.last_read_at, calendar.failing_since, calendar.last_error = now, None, None
        result.conflicts = conflicts_of(session, calendar, reading.timezone, now)
    session.add(calendar)
    _queue_messages(session, calendar, result, reading.timezone, now)
    return result


def _note_unreadable(calendar: MakerCalendar, unreadable: int) -> int:
    """Remember how many entries could not be read; return it when the person should hear it."""
    changed = unreadable != calendar.unreadable_entries
    calendar.unreadable_entries = unreadable
    return unreadable if changed else 0


def _store_meetings(
    session: Session, calendar: MakerCalendar, occurrences: Sequence[Occurrence], now: datetime
) -> None:
    assert calendar.id is not None
    rows = [
        MakerMeeting(
            calendar_id=calendar.id,
            occurrence_key=o.key,
            start=o.start,
            end=o.end,
            people=o.people,
            organizer=o.organizer,
            summary=o.summary,
        )
        for o in occurrences
    ]
    store.replace_meetings(session, calendar.id, now - WATCH_PAST, now + WATCH_AHEAD, rows)


def conflicts_of(
    session: Session, calendar: MakerCalendar, timezone: str, now: datetime
) -> list[Conflict]:
    """Return the member's upcoming meetings with others that fall in a team's maker time."""
    assert calendar.id is not None
    workspace = _workspace(calendar)
    rows = store.schedules_of_member(session, workspace, calendar.user_id)
    teams: list[tuple[TeamSchedule, str | None]] = [
        (schedule_of(row), row.channel_id) for row in rows
    ] or [(default_schedule(timezone), None)]
    meetings = store.meetings_between(session, [calendar.id], now, now + WATCH_AHEAD)
    busy = [Span(m.start, m.end) for m in meetings]
    conflicts = []
    for meeting in meetings:
        if meeting.people < MEETING_PEOPLE or meeting.start <= now:
            continue
        span = Span(meeting.start, meeting.end)
        for schedule, channel_id in teams:
            _, maker = spans_between(schedule, span.start, span.end)
            lost = sum((part.length for part in maker), timedelta(0))
            if lost:
                others = [b for b in busy if b != span]
                conflicts.append(
                    Conflict(
                        meeting.occurrence_key,
                        meeting.summary,
                        span,
                        meeting.people,
                        lost,
                        channel_id,
                        nearest_slots(schedule, span, others, now),
                    )
                )
                break
    return conflicts


def _queue_messages(
    session: Session, calendar: MakerCalendar, result: WatchResult, timezone: str, now: datetime
) -> None:
    workspace = _workspace(calendar)
    for conflict in result.conflicts:
        outbox.schedule_post(
            session,
            workspace=workspace,
            channel_id=calendar.user_id,
            kind=CONFLICT_KIND,
            due_at=now,
            key=f"{CONFLICT_KIND}:{calendar.id}:{conflict.occurrence_key}",
            now=now,
            payload={
                "summary": conflict.summary,
                "start": conflict.meeting.start.isoformat(),
                "end": conflict.meeting.end.isoformat(),
                "people": conflict.people,
                "maker_minutes": int(conflict.maker_time.total_seconds() // 60),
                "team_channel": conflict.team_channel,
                "timezone": timezone,
                "slots": [slot.start.isoformat() for slot in conflict.slots],
            },
        )
    if result.newly_broken and calendar.failing_since is not None:
        outbox.schedule_post(
            session,
            workspace=workspace,
            channel_id=calendar.user_id,
            kind=BROKEN_FEED_KIND,
            due_at=now,
            key=f"{BROKEN_FEED_KIND}:{calendar.id}:{calendar.failing_since.isoformat()}",
            now=now,
            payload={"problem": result.problem},
        )
    if result.newly_unreadable:
        outbox.schedule_post(
            session,
            workspace=workspace,
            channel_id=calendar.user_id,
            kind=PARTLY_READ_KIND,
            due_at=now,
            key=f"{PARTLY_READ_KIND}:{calendar.id}:{now.isoformat()}",
            now=now,
            payload={"unreadable": result.newly_unreadable},
        )


def _workspace(calendar: MakerCalendar) -> Workspace:
    return Workspace(calendar.team_id, calendar.enterprise_id)
