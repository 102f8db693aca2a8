"""The weekly ML sync digest: each feature contributes a section for a channel's week."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common import outbox
from bot.common.recurrence import WEEKDAYS, format_clock
from storage import digest as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.digest import DigestSchedule


@dataclass(frozen=True)
class DigestWindow:
    """The week a digest covers, for one channel."""

    workspace: Workspace
    channel_id: str
    start: datetime
    end: datetime
    timezone: str


@dataclass(frozen=True)
class DigestLine:
    """One fact of a section, in plain text, with the people it names."""

    text: str
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestSection:
    """A feature's part of the digest; `order` places it among the others."""

    title: str
    lines: tuple[DigestLine, ...]
    order: int = 100


DigestSectionBuilder = Callable[[Session, DigestWindow], DigestSection | None]
DigestSectionReader = Callable[[Session, Sequence[DigestWindow]], DigestSectionBuilder]


@dataclass(frozen=True)
class BatchedSection:
    """A section that reads its data for many digests at once, then builds each digest's part.

    `read` takes the windows of the digests about to go out and returns the builder that makes
    any of those windows' section from what it read; a window it was not given is not its to build.
    """

    read: DigestSectionReader

    def __call__(self, session: Session, window: DigestWindow) -> DigestSection | None:
        """Build the section of one digest."""
        return self.read(session, [window])(session, window)


def read_ahead(
    session: Session, windows: Sequence[DigestWindow], builders: Sequence[DigestSectionBuilder]
) -> list[DigestSectionBuilder]:
    """Read every batched section's data for these digests at once; return builders that use it."""
    return [
        builder.read(session, windows) if isinstance(builder, BatchedSection) else builder
        for builder in builders
    ]


def places_of(windows: Iterable[DigestWindow]) -> set[tuple[Workspace, str]]:
    """Return the channels these digests go to, by workspace."""
    return {(window.workspace, window.channel_id) for window in windows}


def span_of(windows: Iterable[DigestWindow]) -> tuple[datetime, datetime]:
    """Return the stretch of time that covers all these windows."""
    listed = list(windows)
    return min(window.start for window in listed), max(window.end for window in listed)


def build_digest(
    session: Session, window: DigestWindow, builders: Sequence[DigestSectionBuilder]
) -> list[DigestSection]:
    """Return every feature's non-empty section, in order."""
    sections = [builder(session, window) for builder in builders]
    return sorted(
        (section for section in sections if section is not None and section.lines),
        key=lambda section: section.order,
    )


DIGEST_KIND = "digest.weekly"
WEEK = timedelta(days=7)


def window_ending(
    workspace: Workspace, channel_id: str, end: datetime, timezone: str
) -> DigestWindow:
    """Return the week that ends at a moment, for a channel."""
    return DigestWindow(workspace, channel_id, end - WEEK, end, timezone)


def schedules_by_id(session: Session, ids: Iterable[int]) -> dict[int, DigestSchedule]:
    """Return these digest schedules, by id, in one query."""
    return store.schedules_by_id(session, ids)


def find_schedule(session: Session, workspace: Workspace, channel_id: str) -> DigestSchedule | None:
    """Return when the channel gets its digest, if it was ever set up."""
    return store.find_schedule(session, workspace, channel_id)


def ensure_schedule(
    session: Session,
    workspace: Workspace,
    channel_id: str,
    timezone: Callable[[], str],
    now: datetime,
) -> DigestSchedule:
    """Return the channel's schedule, setting up the default one (Monday 10:00) on first use."""
    existing = store.find_schedule(session, workspace, channel_id)
    if existing is not None:
        return existing
    schedule = DigestSchedule(
        enterprise_id=workspace.enterprise_id,
        team_id=workspace.team_id,
        channel_id=channel_id,
        timezone=timezone(),
        created_at=now,
    )
    schedule, created = add_or_take_existing(
        session, schedule, lambda: store.find_schedule(session, workspace, channel_id)
    )
    if not created:
        return schedule
    schedule_next(session, schedule, now)
    return schedule


def set_schedule(
    session: Session,
    schedule: DigestSchedule,
    weekday: int | None,
    minute: int | None,
    timezone: str | None,
    now: datetime,
) -> None:
    """Move the channel's digest to another weekday and time (weekday None turns it off)."""
    schedule.weekday = weekday
    if minute is not None:
        schedule.minute = minute
    schedule.timezone = timezone or schedule.timezone
    session.add(schedule)
    workspace = Workspace(schedule.team_id, schedule.enterprise_id)
    outbox.cancel_pending(session, workspace, schedule.channel_id, DIGEST_KIND)
    schedule_next(session, schedule, now)


def schedule_next(session: Session, schedule: DigestSchedule, now: datetime) -> None:
    """Put the channel's next digest in the outbox, if the digest is on."""
    outbox.schedule_weekly(
        session,
        workspace=Workspace(schedule.team_id, schedule.enterprise_id),
        channel_id=schedule.channel_id,
        kind=DIGEST_KIND,
        owner_id=schedule.id,
        weekday=schedule.weekday,
        minute=schedule.minute,
        timezone=schedule.timezone,
        now=now,
        payload={"schedule_id": schedule.id},
    )


def describe_schedule(schedule: DigestSchedule | None) -> str:
    """Say when the channel gets its digest, in words."""
    if schedule is None:
        return (
            "This channel has no weekly digest yet: it starts, Mondays at 10:00, with the first "
            "pain point logged here."
        )
    if schedule.weekday is None:
        return "The weekly ML sync digest is off in this channel."
    day = WEEKDAYS[schedule.weekday].capitalize()
    return (
        f"The weekly ML sync digest is posted here {day}s at {format_clock(schedule.minute)} "
        f"({schedule.timezone})."
    )
