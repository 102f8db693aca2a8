"""The weekly post of every team's focus in one channel, for leads and leadership."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common import outbox
from bot.common.recurrence import WEEKDAYS, format_clock
from bot.focus.commands import AcrossPost
from bot.focus.lists import ListView
from storage import focus as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.focus import DONE, DROPPED, FocusAcrossPost

ACROSS_KIND = "focus.across"
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class TeamWeek:
    """What a team finished, added and dropped in a week (item texts, oldest first)."""

    finished: tuple[str, ...]
    added: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def is_quiet(self) -> bool:
        """Tell whether nothing changed."""
        return not (self.finished or self.added or self.dropped)


def set_across_post(
    session: Session,
    workspace: Workspace,
    channel_id: str,
    command: AcrossPost,
    timezone: str,
    now: datetime,
) -> FocusAcrossPost:
    """Set the channel's weekly post to a day and time (in `timezone` if none given), or off."""
    found = _ensure_across_post(session, workspace, channel_id, timezone, now)
    if command.off:
        found.weekday = None
    else:
        assert command.weekday is not None and command.minute is not None
        found.weekday, found.minute = command.weekday, command.minute
        found.timezone = command.timezone or timezone
    session.add(found)
    outbox.cancel_pending(session, workspace, channel_id, ACROSS_KIND)
    schedule_next_across_post(session, found, now)
    return found


def _ensure_across_post(
    session: Session, workspace: Workspace, channel_id: str, timezone: str, now: datetime
) -> FocusAcrossPost:
    existing = store.find_across_post(session, workspace, channel_id)
    if existing is not None:
        return existing
    created, _ = add_or_take_existing(
        session,
        FocusAcrossPost(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            channel_id=channel_id,
            timezone=timezone,
            created_at=now,
        ),
        lambda: store.find_across_post(session, workspace, channel_id),
    )
    return created


def describe_across_post(settings: FocusAcrossPost | None) -> str:
    """Say when the channel gets the weekly post of every team's focus, in words."""
    if settings is None or settings.weekday is None:
        return "This channel gets no weekly post of every team's focus."
    day = WEEKDAYS[settings.weekday].capitalize()
    return (
        f"Every team's focus is posted here {day}s at {format_clock(settings.minute)} "
        f"({settings.timezone}): each list, what each team finished, added and dropped that "
        "week, and what has stalled."
    )


def schedule_next_across_post(session: Session, settings: FocusAcrossPost, now: datetime) -> None:
    """Put the channel's next weekly post in the outbox, if it is on."""
    outbox.schedule_weekly(
        session,
        workspace=Workspace(settings.team_id, settings.enterprise_id),
        channel_id=settings.channel_id,
        kind=ACROSS_KIND,
        owner_id=settings.id,
        weekday=settings.weekday,
        minute=settings.minute,
        timezone=settings.timezone,
        now=now,
        payload={"settings_id": settings.id},
    )


def team_week(session: Session, view: ListView, end: datetime) -> TeamWeek:
    """Return what the list's team finished, added and dropped in the week up to `end`."""
    assert view.focus_list.id is not None
    events = store.events_between(session, view.focus_list.id, end - WEEK, end)

    def texts(kind: str) -> tuple[str, ...]:
        return tuple(event.item_text for event in events if event.kind == kind)

    return TeamWeek(texts(DONE), texts("added"), texts(DROPPED))
