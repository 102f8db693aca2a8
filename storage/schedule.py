"""The durable outbox: every post the bot will make later is a row here."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"


class ScheduledPost(SQLModel, table=True):
    """A post due in a channel at a time, delivered once."""

    __tablename__ = "scheduled_post"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    kind: str = Field(max_length=64)
    payload: str = Field(default="{}", sa_type=Text)
    due_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    state: str = Field(default=PENDING, max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


def find_by_key(session: Session, idempotency_key: str) -> ScheduledPost | None:
    """Return the post with this idempotency key, if any."""
    return session.exec(
        select(ScheduledPost).where(ScheduledPost.idempotency_key == idempotency_key)
    ).first()


def add_unless_taken(session: Session, values: Mapping[str, Any]) -> bool:
    """Add a post in one statement unless its idempotency key is taken; True when it was added."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ScheduledPost)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(ScheduledPost.id))
    )
    session.flush()  # a post added through the session before this one goes first
    return session.execute(statement).first() is not None


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or abandoned mid-delivery (its lease ran out)."""
    return or_(
        (col(ScheduledPost.state) == PENDING) & (col(ScheduledPost.next_attempt_at) <= now),
        (col(ScheduledPost.state) == SENDING) & (col(ScheduledPost.lease_until) < now),
    )


def claim_due(
    session: Session, now: datetime, lease_until: datetime, limit: int
) -> list[ScheduledPost]:
    """Take up to `limit` due posts for delivery in one statement; return them in due order.

    Posts held back together (a channel's burst spent) go again in the order they fell due.

    On PostgreSQL the rows another worker is claiming are skipped (SKIP LOCKED); SQLite lets
    one writer at a time in, so no two workers ever take the same post.
    """
    chosen = (
        select(ScheduledPost.id)
        .where(_due(now))
        .order_by(
            col(ScheduledPost.next_attempt_at), col(ScheduledPost.due_at), col(ScheduledPost.id)
        )
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    claim = (
        update(ScheduledPost)
        .where(col(ScheduledPost.id).in_(chosen.scalar_subquery()), _due(now))
        .values(state=SENDING, lease_until=lease_until, attempts=ScheduledPost.attempts + 1)
        .returning(ScheduledPost)
        .execution_options(synchronize_session=False)
    )
    posts = list(session.scalars(claim))
    return sorted(posts, key=lambda post: (post.next_attempt_at, post.due_at, post.id or 0))


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed post: the state to write back, if it is still ours."""

    post: ScheduledPost
    state: str
    next_attempt_at: datetime
    attempts: int
    last_error: str | None = None
    sent_at: datetime | None = None


def settle(session: Session, outcomes: Sequence[Outcome]) -> None:
    """Write back what became of claimed posts in one statement; a post claimed since is left."""
    if not outcomes:
        return
    table = ScheduledPost.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("post_id"),
            table.c.state == SENDING,
            table.c.attempts == bindparam("claimed_attempts"),
        )
        .values(
            state=bindparam("new_state"),
            next_attempt_at=bindparam("new_next_attempt_at"),
            attempts=bindparam("new_attempts"),
            last_error=bindparam("new_last_error"),
            sent_at=bindparam("new_sent_at"),
            lease_until=None,
        )
    )
    session.execute(
        statement,
        [
            {
                "post_id": outcome.post.id,
                "claimed_attempts": outcome.post.attempts,
                "new_state": outcome.state,
                "new_next_attempt_at": outcome.next_attempt_at,
                "new_attempts": outcome.attempts,
                "new_last_error": outcome.last_error,
                "new_sent_at": outcome.sent_at,
            }
            for outcome in outcomes
        ],
    )


def next_due_at(session: Session, after: datetime) -> datetime | None:
    """Return when the next pending post falls due after a moment, if any post is waiting."""
    query = select(func.min(ScheduledPost.next_attempt_at)).where(
        col(ScheduledPost.state) == PENDING, col(ScheduledPost.next_attempt_at) > after
    )
    return session.exec(query).one()


def pending_posts(
    session: Session, kind: str, team_id: str, enterprise_id: str, channel_id: str
) -> list[ScheduledPost]:
    """Return the pending posts of a kind for one channel."""
    return list(
        session.exec(
            select(ScheduledPost).where(
                ScheduledPost.kind == kind,
                ScheduledPost.team_id == team_id,
                ScheduledPost.enterprise_id == enterprise_id,
                ScheduledPost.channel_id == channel_id,
                ScheduledPost.state == PENDING,
            )
        )
    )


def pending_in_workspace(session: Session, team_id: str, enterprise_id: str) -> list[ScheduledPost]:
    """Return every pending post of a workspace."""
    return list(
        session.exec(
            select(ScheduledPost).where(
                ScheduledPost.team_id == team_id,
                ScheduledPost.enterprise_id == enterprise_id,
                ScheduledPost.state == PENDING,
            )
        )
    )


def forget_finished_before(session: Session, cutoff: datetime) -> int:
    """Delete the sent and cancelled posts due before the cutoff; return how many."""
    result = session.execute(
        delete(ScheduledPost).where(
            col(ScheduledPost.state).in_((SENT, CANCELLED)), col(ScheduledPost.due_at) < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
