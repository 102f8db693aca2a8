"""Changes to a team's schedule (`/maker set`): checked against its rules, then saved."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from itertools import pairwise

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.common.recurrence import format_clock
from bot.maker.commands import MakerError, SetCommand
from bot.maker.schedule import (
    DEFAULT_DAY,
    DEFAULT_WINDOWS,
    WORKDAYS,
    TeamSchedule,
    encode_windows,
    is_direct,
    note_member,
    schedule_of,
)
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerSchedule

MAX_WINDOWS = 8


def save_schedule(
    session: Session,
    workspace: Workspace,
    channel_id: str,
    change: SetCommand,
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


def apply_change(schedule: TeamSchedule, change: SetCommand) -> TeamSchedule:
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
