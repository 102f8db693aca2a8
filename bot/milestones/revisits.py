"""Revisit reminders every cadence and on the target date, and optional confidence check-ins."""

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.common import outbox
from bot.common.recurrence import local_moment, zone
from storage import milestones as store
from storage.base import Workspace
from storage.milestones import OPEN, Milestone, MilestoneBoard
from storage.schedule import CANCELLED

REVISIT_KIND = "milestone.revisit"
CHECKIN_KIND = "milestone.checkin"
REVISIT_MINUTE = 10 * 60
REPEAT_AFTER = timedelta(weeks=1)


def local_today(board: MilestoneBoard, now: datetime) -> date:
    """Return the team's local date at `now`."""
    return now.astimezone(zone(board.timezone)).date()


def set_cadence(session: Session, board: MilestoneBoard, weeks: int, now: datetime) -> None:
    """Revisit every so many weeks from now on; open milestones' next revisits move with it."""
    board.cadence_weeks = weeks
    session.add(board)
    assert board.id is not None
    for milestone in store.milestones_of(session, board.id, states=(OPEN,)):
        milestone.revisit_round += 1
        session.add(milestone)
        schedule_revisit(session, board, milestone, now)


def set_checkins(session: Session, board: MilestoneBoard, weeks: int | None, now: datetime) -> None:
    """Ask for confidences every so many weeks between revisits, or stop asking (None)."""
    board.checkin_weeks = weeks
    session.add(board)
    cancel_reminders(session, f"{CHECKIN_KIND}:{board.id}:")
    schedule_checkin(session, board, now)


def answered(session: Session, milestone: Milestone, now: datetime) -> None:
    """A person has revisited the milestone: the next revisit counts from now."""
    milestone.awaiting_since = None
    milestone.revisit_anchor = now
    milestone.revisit_round += 1
    session.add(milestone)
    schedule_revisit(session, store.board_of(session, milestone), milestone, now)


def next_revisit(board: MilestoneBoard, milestone: Milestone) -> tuple[datetime, str]:
    """Return when the milestone is next revisited and why: its cadence or its target date."""
    anchor_day = milestone.revisit_anchor.astimezone(zone(board.timezone)).date()
    cadence = local_moment(
        anchor_day + timedelta(weeks=board.cadence_weeks), REVISIT_MINUTE, board.timezone
    )
    target = local_moment(milestone.target, REVISIT_MINUTE, board.timezone)
    if milestone.revisit_anchor < target < cadence:
        return target, "target"
    return cadence, "cadence"


def schedule_revisit(
    session: Session, board: MilestoneBoard, milestone: Milestone, now: datetime
) -> None:
    """Replace the milestone's pending reminder with one for its next revisit."""
    cancel_reminders(session, f"{REVISIT_KIND}:{milestone.id}:")
    due, why = next_revisit(board, milestone)
    _schedule_reminder(session, board, milestone, due, now, why=why, attempt=1)


def reminder_posted(
    session: Session, milestone: Milestone, payload: dict[str, Any], due: datetime, now: datetime
) -> None:
    """After a reminder due at `due`: repeat it a week later once; then await the next revisit."""
    board = store.board_of(session, milestone)
    milestone.awaiting_since = milestone.awaiting_since or due
    session.add(milestone)
    if payload.get("attempt") == 1:
        why = str(payload.get("why") or "cadence")
        _schedule_reminder(session, board, milestone, due + REPEAT_AFTER, now, why=why, attempt=2)
        return
    # Unanswered twice: it stays "due for revisit" in the digest; the cadence goes on from here.
    milestone.revisit_anchor = due
    milestone.revisit_round += 1
    schedule_revisit(session, board, milestone, now)


def is_current_reminder(milestone: Milestone | None, payload: dict[str, Any]) -> bool:
    """Tell whether a reminder in the outbox still applies (open, nothing answered since)."""
    return (
        milestone is not None
        and milestone.state == OPEN
        and payload.get("round") == milestone.revisit_round
    )


def schedule_checkin(session: Session, board: MilestoneBoard, now: datetime) -> None:
    """Put the board's next confidence check-in in the outbox, if check-ins are on."""
    if board.checkin_weeks is None:
        return
    day = local_today(board, now) + timedelta(weeks=board.checkin_weeks)
    due = local_moment(day, REVISIT_MINUTE, board.timezone)
    outbox.schedule_post(
        session,
        workspace=Workspace(board.team_id, board.enterprise_id),
        channel_id=board.channel_id,
        kind=CHECKIN_KIND,
        due_at=due,
        key=f"{CHECKIN_KIND}:{board.id}:{due.isoformat()}",
        now=now,
        payload={"board_id": board.id},
    )


def _schedule_reminder(
    session: Session,
    board: MilestoneBoard,
    milestone: Milestone,
    due: datetime,
    now: datetime,
    *,
    why: str,
    attempt: int,
) -> None:
    outbox.schedule_post(
        session,
        workspace=Workspace(board.team_id, board.enterprise_id),
        channel_id=board.channel_id,
        kind=REVISIT_KIND,
        due_at=due,
        key=f"{REVISIT_KIND}:{milestone.id}:{milestone.revisit_round}:{attempt}",
        now=now,
        payload={
            "milestone_id": milestone.id,
            "round": milestone.revisit_round,
            "attempt": attempt,
            "why": why,
        },
    )


def cancel_reminders(session: Session, key_prefix: str) -> None:
    """Cancel the pending reminders whose key starts with a prefix."""
    for post in store.pending_posts_with_prefix(session, key_prefix):
        post.state = CANCELLED
        session.add(post)


def due_for_revisit(milestone: Milestone, today: date) -> bool:
    """Tell whether an open milestone awaits a revisit: target reached or reminder unanswered."""
    return milestone.state == OPEN and (
        milestone.awaiting_since is not None or milestone.target <= today
    )
