"""The weekly focus check: when it runs, and after how long an item counts as stalled."""

from datetime import datetime

from sqlmodel import Session

from bot.common import outbox
from bot.common.recurrence import WEEKDAYS, format_clock
from bot.focus.commands import Checkin
from storage.base import Workspace
from storage.focus import FocusList

CHECKIN_KIND = "focus.checkin"


def set_checkin(session: Session, focus_list: FocusList, command: Checkin, now: datetime) -> None:
    """Move the weekly check to another day and time, or turn it off."""
    if command.off:
        focus_list.checkin_weekday = None
    else:
        assert command.weekday is not None and command.minute is not None
        focus_list.checkin_weekday, focus_list.checkin_minute = command.weekday, command.minute
        focus_list.timezone = command.timezone or focus_list.timezone
    session.add(focus_list)
    workspace = Workspace(focus_list.team_id, focus_list.enterprise_id)
    outbox.cancel_pending(session, workspace, focus_list.channel_id, CHECKIN_KIND)
    schedule_next_checkin(session, focus_list, now)


def set_stall_weeks(session: Session, focus_list: FocusList, weeks: int) -> None:
    """Change after how many weeks in focus an item counts as stalled."""
    focus_list.stall_weeks = weeks
    session.add(focus_list)


def describe_checkin(focus_list: FocusList) -> str:
    """Say when the weekly check runs, in words."""
    if focus_list.checkin_weekday is None:
        return "The weekly focus check is off."
    day = WEEKDAYS[focus_list.checkin_weekday].capitalize()
    return (
        f"The weekly focus check runs {day}s at {format_clock(focus_list.checkin_minute)} "
        f"({focus_list.timezone}) and points out items in focus longer than "
        f"{focus_list.stall_weeks} weeks."
    )


def schedule_next_checkin(session: Session, focus_list: FocusList, now: datetime) -> None:
    """Put the list's next weekly check in the outbox, if the check is on."""
    outbox.schedule_weekly(
        session,
        workspace=Workspace(focus_list.team_id, focus_list.enterprise_id),
        channel_id=focus_list.channel_id,
        kind=CHECKIN_KIND,
        owner_id=focus_list.id,
        weekday=focus_list.checkin_weekday,
        minute=focus_list.checkin_minute,
        timezone=focus_list.timezone,
        now=now,
        payload={"list_id": focus_list.id},
    )
