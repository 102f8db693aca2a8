"""A conversation's milestone board: its vision, adding and changing milestones, their history."""

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session

from bot.common.caller import Caller
from bot.common.dates import day_text
from bot.common.recurrence import zone
from bot.milestones.dates import TargetDateError, parse_target
from bot.milestones.revisits import REVISIT_KIND, answered, cancel_reminders, schedule_revisit
from storage import milestones as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.milestones import (
    ACHIEVED,
    DROPPED,
    OPEN,
    Milestone,
    MilestoneBoard,
    MilestoneEvent,
)

CONFIDENCE_CHOICES = tuple(range(0, 101, 5))
SPARKS = "▁▂▃▄▅▆▇█"
PASSED = "target passed — time to revisit"


class MilestoneError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def find_board(session: Session, caller: Caller) -> MilestoneBoard | None:
    """Return the caller's conversation's milestone board, if it has one."""
    return store.find_board(session, caller.workspace, caller.channel_id)


def ensure_board(session: Session, caller: Caller, timezone: str, now: datetime) -> MilestoneBoard:
    """Return the conversation's board, creating it in the caller's timezone on first use."""
    existing = find_board(session, caller)
    if existing is not None:
        return existing
    board = MilestoneBoard(
        enterprise_id=caller.workspace.enterprise_id,
        team_id=caller.workspace.team_id,
        channel_id=caller.channel_id,
        timezone=timezone,
        created_at=now,
    )
    board, _ = add_or_take_existing(session, board, lambda: find_board(session, caller))
    return board


def resolve_target(board: MilestoneBoard, text: str, now: datetime) -> date:
    """Read a target date in the team's timezone; refuse one that is unreadable or not ahead."""
    return resolve_target_in(board.timezone, text, now)


def resolve_target_in(timezone: str, text: str, now: datetime) -> date:
    """Read a target date in a timezone; refuse one that is unreadable or not ahead."""
    try:
        return parse_target(text, now.astimezone(zone(timezone)).date())
    except TargetDateError as error:
        raise MilestoneError(str(error)) from error


def set_vision(
    session: Session, board: MilestoneBoard, actor: str, text: str, now: datetime
) -> None:
    """Set the team's vision."""
    board.vision, board.vision_set_by, board.vision_set_at = text, actor, now
    session.add(board)


def set_vision_date(session: Session, board: MilestoneBoard, day: date) -> None:
    """Set the date the vision is to be reached by, the forecast's horizon."""
    board.vision_date = day
    session.add(board)


def set_required(
    session: Session, milestone: Milestone, actor: str, required: bool, now: datetime
) -> None:
    """Mark a milestone required for the vision, or not; the forecast counts the required ones."""
    if milestone.required == required:
        state = "already required" if required else "already not required"
        raise MilestoneError(f"#{milestone.number} is {state}.")
    milestone.required = required
    session.add(milestone)
    record(session, milestone, "required", actor, now, after="yes" if required else "no")


def add(
    session: Session,
    board: MilestoneBoard,
    actor: str,
    title: str,
    target: date,
    confidence: int,
    now: datetime,
) -> Milestone:
    """Add a milestone and schedule its first revisit."""
    assert board.id is not None
    # Concurrent adds to one board take turns (a row lock on PostgreSQL) for the next number.
    session.flush()  # a refresh would otherwise drop changes not yet written
    session.refresh(board, with_for_update=True)
    milestone = Milestone(
        board_id=board.id,
        number=store.next_number(session, board.id),
        title=title,
        target=target,
        confidence=confidence,
        created_by=actor,
        created_at=now,
        revisit_anchor=now,
    )
    session.add(milestone)
    session.flush()
    record(
        session, milestone, "created", actor, now, after=target.isoformat(), confidence=confidence
    )
    schedule_revisit(session, board, milestone, now)
    return milestone


def milestone_at(session: Session, board: MilestoneBoard, number: int) -> Milestone:
    """Return the board's milestone n, in any state; refuse a number it does not have."""
    assert board.id is not None
    milestone = store.by_number(session, board.id, number)
    if milestone is None:
        raise MilestoneError(f"There is no milestone #{number} here. `/milestone list` shows them.")
    return milestone


def open_milestone_at(session: Session, board: MilestoneBoard, number: int) -> Milestone:
    """Return the board's open milestone n; refuse one that has ended."""
    return require_open(milestone_at(session, board, number))


def require_open(milestone: Milestone) -> Milestone:
    """Refuse a milestone that is achieved or dropped."""
    if milestone.state != OPEN:
        raise MilestoneError(
            f"#{milestone.number} “{milestone.title}” is already {milestone.state}."
        )
    return milestone


def milestone_for_click(session: Session, workspace: Workspace, milestone_id: int) -> Milestone:
    """Return an open milestone by id for a button or modal; refuse one from elsewhere."""
    milestone = store.get_milestone(session, workspace, milestone_id)
    if milestone is None:
        raise MilestoneError("That milestone is not in this workspace any more.")
    return require_open(milestone)


def check_clicked_on_its_board(session: Session, milestone: Milestone, channel_id: str) -> None:
    """Refuse a button click from outside the milestone's channel: a board is its channel's."""
    if store.board_of(session, milestone).channel_id != channel_id:
        raise MilestoneError("That milestone is on another channel's board.")


def rename(session: Session, milestone: Milestone, actor: str, title: str, now: datetime) -> None:
    """Rename a milestone."""
    before, milestone.title = milestone.title, title
    session.add(milestone)
    record(session, milestone, "title", actor, now, before=before, after=title)


def move_target(
    session: Session,
    milestone: Milestone,
    actor: str,
    target: date,
    now: datetime,
    *,
    reason: str = "",
    confidence: int | None = None,
) -> None:
    """Move a milestone's target (a revisit answer): recorded, and the next revisit scheduled."""
    if target == milestone.target:
        raise MilestoneError(f"The target of #{milestone.number} is already {day_text(target)}.")
    before, milestone.target = milestone.target, target
    session.add(milestone)
    record(
        session,
        milestone,
        "target",
        actor,
        now,
        before=before.isoformat(),
        after=target.isoformat(),
        reason=reason,
    )
    if confidence is not None:
        change_confidence(session, milestone, actor, confidence, now)
    answered(session, milestone, now)


def set_confidence(
    session: Session, milestone: Milestone, actor: str, confidence: int, now: datetime
) -> None:
    """Change a milestone's confidence (a check-in answer, not a revisit)."""
    if confidence == milestone.confidence:
        raise MilestoneError(f"#{milestone.number} is already at {confidence}%.")
    change_confidence(session, milestone, actor, confidence, now)


def confirm_on_track(
    session: Session, milestone: Milestone, actor: str, confidence: int, now: datetime
) -> None:
    """Record a revisit answered "on track" at a confidence, and schedule the next revisit."""
    if confidence != milestone.confidence:
        change_confidence(session, milestone, actor, confidence, now)
    record(session, milestone, "on_track", actor, now, confidence=confidence)
    answered(session, milestone, now)


def achieve(session: Session, milestone: Milestone, actor: str, now: datetime) -> None:
    """Mark a milestone achieved; its reminders stop."""
    _end(session, milestone, ACHIEVED, actor, now, "")


def drop(session: Session, milestone: Milestone, actor: str, now: datetime, reason: str) -> None:
    """Drop a milestone; its reminders stop."""
    _end(session, milestone, DROPPED, actor, now, reason)


def change_confidence(
    session: Session,
    milestone: Milestone,
    actor: str,
    confidence: int,
    now: datetime,
    *,
    direct: bool = True,
) -> None:
    """Record a new confidence; one set directly stops the approaches from deriving it."""
    before, milestone.confidence = milestone.confidence, confidence
    milestone.confidence_direct = milestone.confidence_direct or direct
    session.add(milestone)
    record(
        session,
        milestone,
        "confidence",
        actor,
        now,
        before=f"{before}",
        after=f"{confidence}",
        confidence=confidence,
    )


def _end(
    session: Session, milestone: Milestone, state: str, actor: str, now: datetime, reason: str
) -> None:
    milestone.state, milestone.ended_by, milestone.ended_at = state, actor, now
    milestone.end_reason = reason or None
    milestone.awaiting_since = None
    session.add(milestone)
    record(session, milestone, state, actor, now, reason=reason)
    cancel_reminders(session, f"{REVISIT_KIND}:{milestone.id}:")


def record(
    session: Session,
    milestone: Milestone,
    kind: str,
    actor: str,
    now: datetime,
    *,
    before: str = "",
    after: str = "",
    reason: str = "",
    confidence: int | None = None,
) -> None:
    assert milestone.id is not None
    session.add(
        MilestoneEvent(
            milestone_id=milestone.id,
            kind=kind,
            actor_id=actor,
            at=now,
            before=before,
            after=after,
            reason=reason,
            confidence=confidence,
        )
    )


def target_status(milestone: Milestone, today: date) -> str:
    """Say where a target stands: "Mon 1 Mar 2027 (in 14 weeks)", or that it is time to revisit."""
    days = (milestone.target - today).days
    when = day_text(milestone.target)
    if milestone.state != OPEN:
        return f"target {when}"
    if days < 0:
        return f"{PASSED} (target was {when})"
    if days == 0:
        return f"target {when} (today) — time to revisit"
    return f"target {when} ({_ahead(days)})"


def _ahead(days: int) -> str:
    if days == 1:
        return "tomorrow"
    if days < 14:
        return f"in {days} days"
    if days < 26 * 7:
        return f"in {days // 7} weeks"
    return f"in {round(days / 30.44)} months"


def sparkline(values: Sequence[int]) -> str:
    """Draw percentages (0 to 100) as a line of unicode bars."""
    top = len(SPARKS) - 1
    return "".join(SPARKS[round(max(0, min(100, value)) / 100 * top)] for value in values)


def confidence_trail(events: Sequence[MilestoneEvent]) -> list[int]:
    """Return every confidence the milestone was given, first to last, repeats collapsed."""
    trail: list[int] = []
    for event in events:
        if event.confidence is not None and (not trail or trail[-1] != event.confidence):
            trail.append(event.confidence)
    return trail


def describe_event(event: MilestoneEvent) -> str:
    """Say what an event did, in plain text (the actor and time are shown beside it)."""
    reason = f" — {event.reason}" if event.reason else ""
    if event.kind == "created":
        target = day_text(date.fromisoformat(event.after))
        return f"added it with target {target} at {event.confidence}%"
    if event.kind == "target":
        before = day_text(date.fromisoformat(event.before))
        after = day_text(date.fromisoformat(event.after))
        return f"moved the target from {before} to {after}{reason}"
    if event.kind == "confidence":
        return f"changed the confidence from {event.before}% to {event.after}%"
    if event.kind == "on_track":
        return f"revisited it: on track at {event.confidence}%"
    if event.kind == "title":
        return f"renamed it (it was “{event.before}”)"
    if event.kind == "required":
        return "marked it required" if event.after == "yes" else "marked it not required"
    if event.kind.startswith("approach"):
        return event.after
    return f"marked it {event.kind}{reason}"
