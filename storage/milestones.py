"""Tables and queries of milestones: a conversation's vision, its milestones and their history."""

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, ForeignKey, Integer, UniqueConstraint, event, update
from sqlalchemy import select as sql_select
from sqlmodel import Field, Session, SQLModel, col, func, select

from storage.base import UTCDateTime, Workspace, rows_in_channels
from storage.schedule import PENDING, ScheduledPost

OPEN, ACHIEVED, DROPPED = "open", "achieved", "dropped"
DEFAULT_CADENCE_WEEKS = 13
DEFAULT_CONFIDENCE = 50


class MilestoneBoard(SQLModel, table=True):
    """A conversation's milestones: its vision, revisit cadence and optional check-ins."""

    __tablename__ = "milestone_board"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    vision: str = Field(default="", max_length=2000)
    vision_set_by: str | None = Field(default=None, max_length=32)
    vision_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cadence_weeks: int = DEFAULT_CADENCE_WEEKS
    checkin_weeks: int | None = None
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    vision_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # The forecast figure (chance, in %) the digest last showed, to show it again only on a move.
    forecast_shown: int | None = None
    # Counts the changes to the board and its milestones, so every process sees when its copy
    # of the board is out of date (see `_count_board_changes`).
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Milestone(SQLModel, table=True):
    """A meaningful step towards the vision, with a target date and a confidence."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("board_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    board_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("milestone_board.id", ondelete="CASCADE"),
            index=True,
            nullable=False,
        )
    )
    number: int
    title: str = Field(max_length=1000)
    target: date = Field(sa_column=Column(Date, nullable=False))
    confidence: int = DEFAULT_CONFIDENCE
    state: str = Field(default=OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revisit_anchor: datetime = Field(sa_type=UTCDateTime)
    revisit_round: int = 0
    awaiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by: str | None = Field(default=None, max_length=32)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=1000)
    required: bool = False
    # Derived from the approaches (at least one works) until the team sets the chance directly.
    confidence_direct: bool = False


class MilestoneEvent(SQLModel, table=True):
    """A change to a milestone: who did what, when, from what to what."""

    __tablename__ = "milestone_event"

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("milestone.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=32, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    before: str = Field(default="", max_length=1000)
    after: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)
    confidence: int | None = None


class MilestoneApproach(SQLModel, table=True):
    """One way a milestone might be reached, with its own likelihood of working."""

    __tablename__ = "milestone_approach"
    __table_args__ = (UniqueConstraint("milestone_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("milestone.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    number: int
    text: str = Field(max_length=1000)
    chance: int = DEFAULT_CONFIDENCE
    state: str = Field(default=OPEN, max_length=16)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MilestoneTried(SQLModel, table=True):
    """An experiment or idea tried against a milestone (or one of its approaches)."""

    __tablename__ = "milestone_tried"

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("milestone.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    approach_number: int | None = None
    what: str = Field(max_length=1000)
    outcome: str = Field(default="", max_length=1000)
    actor_id: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, index=True)


CHANGED_BOARDS = "milestone_boards_changed"  # session.info: what the session changed, to count


@event.listens_for(Session, "before_flush")
def _note_changed_boards(session: Session, _context: Any, _instances: Any) -> None:
    """Note the boards whose rows, milestones or milestones' history a flush writes."""
    boards, milestones = session.info.get(CHANGED_BOARDS, (set(), set()))
    noted = len(boards) + len(milestones)
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, MilestoneBoard) and row.id is not None:
            boards.add(row.id)
        elif isinstance(row, Milestone):
            boards.add(row.board_id)
        elif isinstance(row, MilestoneEvent | MilestoneApproach | MilestoneTried):
            milestones.add(row.milestone_id)
    if len(boards) + len(milestones) > noted:
        session.info[CHANGED_BOARDS] = (boards, milestones)


@event.listens_for(Session, "before_commit")
def _count_board_changes(session: Session) -> None:
    """Count a change to the version of every board the transaction changed, just before it commits.

    In the same transaction, so the version and what it vouches for commit together. The boards
    are locked in id order at the very end, so that two transactions never wait on each other.
    """
    if session.in_nested_transaction():
        return  # a savepoint: the whole transaction is counted when it commits
    session.flush()
    boards, milestones = session.info.get(CHANGED_BOARDS, (set(), set()))
    if not boards and not milestones:
        return
    session.info[CHANGED_BOARDS] = (set(), set())
    of_milestones = sql_select(col(Milestone.board_id)).where(col(Milestone.id).in_(milestones))
    changed = (
        sql_select(col(MilestoneBoard.id))
        .where(col(MilestoneBoard.id).in_(boards) | col(MilestoneBoard.id).in_(of_milestones))
        .order_by(col(MilestoneBoard.id))
        .with_for_update()
    )
    session.connection().execute(
        update(MilestoneBoard)
        .where(col(MilestoneBoard.id).in_(changed))
        .values(version=MilestoneBoard.version + 1)
    )


def changed_boards(session: Session) -> bool:
    """Tell whether the session has written to any milestone board, changes it holds included."""
    session.flush()
    return CHANGED_BOARDS in session.info


def find_board(session: Session, workspace: Workspace, channel_id: str) -> MilestoneBoard | None:
    """Return the conversation's board, if it has one."""
    return session.exec(
        select(MilestoneBoard).where(
            MilestoneBoard.enterprise_id == workspace.enterprise_id,
            MilestoneBoard.team_id == workspace.team_id,
            MilestoneBoard.channel_id == channel_id,
        )
    ).first()


def boards_in(
    session: Session, places: Collection[tuple[Workspace, str]]
) -> dict[tuple[Workspace, str], MilestoneBoard]:
    """Return the boards of several conversations in one query, by workspace and channel."""
    return rows_in_channels(session, MilestoneBoard, places)


def get_board(session: Session, workspace: Workspace, board_id: int) -> MilestoneBoard | None:
    """Return a board by id, only if it belongs to the workspace."""
    board = session.get(MilestoneBoard, board_id)
    if board is None or (board.enterprise_id, board.team_id) != (
        workspace.enterprise_id,
        workspace.team_id,
    ):
        return None
    return board


def get_milestone(session: Session, workspace: Workspace, milestone_id: int) -> Milestone | None:
    """Return a milestone by id, only if its board belongs to the workspace."""
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or get_board(session, workspace, milestone.board_id) is None:
        return None
    return milestone


def board_of(session: Session, milestone: Milestone) -> MilestoneBoard:
    """Return the board a milestone belongs to."""
    board = session.get(MilestoneBoard, milestone.board_id)
    assert board is not None
    return board


def by_number(session: Session, board_id: int, number: int) -> Milestone | None:
    """Return the board's milestone with this number."""
    return session.exec(
        select(Milestone).where(Milestone.board_id == board_id, Milestone.number == number)
    ).first()


def next_number(session: Session, board_id: int) -> int:
    """Return the number the board's next milestone gets."""
    highest = session.exec(
        select(func.max(Milestone.number)).where(Milestone.board_id == board_id)
    ).one()
    return int(highest or 0) + 1


def milestones_of(session: Session, board_id: int, *, states: tuple[str, ...]) -> list[Milestone]:
    """Return the board's milestones in these states, soonest target first."""
    return list(
        session.exec(
            select(Milestone)
            .where(Milestone.board_id == board_id, col(Milestone.state).in_(states))
            .order_by(col(Milestone.target), col(Milestone.number))
        )
    )


def confidence_trails(
    session: Session, board_id: int, *, states: tuple[str, ...]
) -> dict[int, list[int]]:
    """Return every confidence each of the board's milestones in these states was given, in order.

    Repeats in a row are collapsed in the database, so a long history of the same figure costs
    one row; a milestone without any confidence is left out.
    """
    history = (
        sql_select(  # sqlmodel's select takes at most four columns
            col(MilestoneEvent.milestone_id).label("milestone_id"),
            col(MilestoneEvent.confidence).label("confidence"),
            col(MilestoneEvent.at).label("at"),
            col(MilestoneEvent.id).label("id"),
            func.lag(MilestoneEvent.confidence)
            .over(
                partition_by=col(MilestoneEvent.milestone_id),
                order_by=(col(MilestoneEvent.at), col(MilestoneEvent.id)),
            )
            .label("before"),
        )
        .join(Milestone, col(Milestone.id) == col(MilestoneEvent.milestone_id))
        .where(
            col(Milestone.board_id) == board_id,
            col(Milestone.state).in_(states),
            col(MilestoneEvent.confidence).is_not(None),
        )
        .subquery()
    )
    rows = session.exec(
        select(history.c.milestone_id, history.c.confidence)
        .where(history.c.before.is_(None) | (history.c.before != history.c.confidence))
        .order_by(history.c.milestone_id, history.c.at, history.c.id)
    )
    trails: dict[int, list[int]] = {}
    for milestone_id, confidence in rows:
        trails.setdefault(milestone_id, []).append(confidence)
    return trails


def ended_outcomes(session: Session, board_id: int) -> list[tuple[bool, int, int]]:
    """Return the board's ended milestones as (achieved, first confidence, last confidence).

    The first confidence is the earliest one recorded in the history, or the milestone's own when
    the history holds none.
    """
    first = (
        select(MilestoneEvent.confidence)
        .where(
            col(MilestoneEvent.milestone_id) == col(Milestone.id),
            col(MilestoneEvent.confidence).is_not(None),
        )
        .order_by(col(MilestoneEvent.at), col(MilestoneEvent.id))
        .limit(1)
        .correlate(Milestone)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Milestone.state, func.coalesce(first, Milestone.confidence), Milestone.confidence)
        .where(Milestone.board_id == board_id, col(Milestone.state).in_((ACHIEVED, DROPPED)))
        .order_by(col(Milestone.target), col(Milestone.number))
    )
    return [(state == ACHIEVED, int(given), int(last)) for state, given, last in rows]


def events_of(session: Session, milestone_id: int) -> list[MilestoneEvent]:
    """Return a milestone's history, oldest first."""
    return list(
        session.exec(
            select(MilestoneEvent)
            .where(MilestoneEvent.milestone_id == milestone_id)
            .order_by(col(MilestoneEvent.at), col(MilestoneEvent.id))
        )
    )


def board_events_between(
    session: Session, board_id: int, start: datetime, end: datetime
) -> list[tuple[MilestoneEvent, Milestone]]:
    """Return the board's events from start (inclusive) to end (exclusive), oldest first."""
    rows = session.exec(
        select(MilestoneEvent, Milestone)
        .join(Milestone, col(Milestone.id) == col(MilestoneEvent.milestone_id))
        .where(
            Milestone.board_id == board_id,
            MilestoneEvent.at >= start,
            MilestoneEvent.at < end,
        )
        .order_by(col(MilestoneEvent.at), col(MilestoneEvent.id))
    )
    return [(event, milestone) for event, milestone in rows]


def boards_of_person(session: Session, workspace: Workspace, user_id: str) -> list[MilestoneBoard]:
    """Return the boards whose milestones a person has created or changed, oldest first."""
    touched = (
        select(Milestone.board_id)
        .join(MilestoneEvent, col(MilestoneEvent.milestone_id) == col(Milestone.id))
        .where(MilestoneEvent.actor_id == user_id)
    )
    return list(
        session.exec(
            select(MilestoneBoard)
            .where(
                MilestoneBoard.enterprise_id == workspace.enterprise_id,
                MilestoneBoard.team_id == workspace.team_id,
                col(MilestoneBoard.id).in_(touched),
            )
            .order_by(col(MilestoneBoard.id))
        )
    )


def pending_posts_with_prefix(session: Session, key_prefix: str) -> list[ScheduledPost]:
    """Return the outbox's pending posts whose idempotency key starts with a prefix."""
    return list(
        session.exec(
            select(ScheduledPost).where(
                col(ScheduledPost.idempotency_key).startswith(key_prefix, autoescape=True),
                ScheduledPost.state == PENDING,
            )
        )
    )


def approaches_of(
    session: Session, milestone_id: int, *, states: tuple[str, ...] = (OPEN,)
) -> list[MilestoneApproach]:
    """Return a milestone's approaches in these states, by number."""
    return list(
        session.exec(
            select(MilestoneApproach)
            .where(
                MilestoneApproach.milestone_id == milestone_id,
                col(MilestoneApproach.state).in_(states),
            )
            .order_by(col(MilestoneApproach.number))
        )
    )


def approach_by_number(
    session: Session, milestone_id: int, number: int
) -> MilestoneApproach | None:
    """Return a milestone's approach with this number, in any state."""
    return session.exec(
        select(MilestoneApproach).where(
            MilestoneApproach.milestone_id == milestone_id, MilestoneApproach.number == number
        )
    ).first()


def next_approach_number(session: Session, milestone_id: int) -> int:
    """Return the number the milestone's next approach gets."""
    highest = session.exec(
        select(func.max(MilestoneApproach.number)).where(
            MilestoneApproach.milestone_id == milestone_id
        )
    ).one()
    return int(highest or 0) + 1


def tried_between(
    session: Session, board_id: int, start: datetime, end: datetime
) -> list[tuple[MilestoneTried, Milestone]]:
    """Return what was tried on the board's milestones in [start, end), oldest first."""
    rows = session.exec(
        select(MilestoneTried, Milestone)
        .join(Milestone, col(Milestone.id) == col(MilestoneTried.milestone_id))
        .where(
            Milestone.board_id == board_id,
            MilestoneTried.at >= start,
            MilestoneTried.at < end,
        )
        .order_by(col(MilestoneTried.at), col(MilestoneTried.id))
    )
    return [(tried, milestone) for tried, milestone in rows]


def tried_counts_since(session: Session, board_id: int, since: datetime) -> dict[int, int]:
    """Return how many things were tried per milestone id of the board since a moment."""
    rows = session.exec(
        select(MilestoneTried.milestone_id, func.count(col(MilestoneTried.id)))
        .join(Milestone, col(Milestone.id) == col(MilestoneTried.milestone_id))
        .where(Milestone.board_id == board_id, MilestoneTried.at >= since)
        .group_by(col(MilestoneTried.milestone_id))
    )
    return {milestone_id: int(count) for milestone_id, count in rows}


def tried_count_since(session: Session, milestone_id: int, since: datetime) -> int:
    """Return how many things were tried against a milestone since a moment."""
    return int(
        session.exec(
            select(func.count(col(MilestoneTried.id))).where(
                MilestoneTried.milestone_id == milestone_id, MilestoneTried.at >= since
            )
        ).one()
    )


def tried_of(session: Session, milestone_id: int) -> list[MilestoneTried]:
    """Return everything tried against a milestone, oldest first."""
    return list(
        session.exec(
            select(MilestoneTried)
            .where(MilestoneTried.milestone_id == milestone_id)
            .order_by(col(MilestoneTried.at), col(MilestoneTried.id))
        )
    )
