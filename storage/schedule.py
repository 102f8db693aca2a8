"""The durable outbox: every post the bot will make later is a row here."""

from datetime import datetime

from sqlalchemy import Text, delete, func, or_, update
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


def due_post_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Return ids of posts ready to deliver: pending and due, or abandoned mid-delivery."""
    query = (
        select(ScheduledPost.id)
        .where(
            or_(
                (col(ScheduledPost.state) == PENDING) & (col(ScheduledPost.next_attempt_at) <= now),
                (col(ScheduledPost.state) == SENDING) & (col(ScheduledPost.lease_until) < now),
            )
        )
        .order_by(col(ScheduledPost.next_attempt_at), col(ScheduledPost.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [post_id for post_id in session.exec(query) if post_id is not None]


def next_due_at(session: Session, after: datetime) -> datetime | None:
    """Return when the next pending post falls due after a moment, if any post is waiting."""
    query = select(func.min(ScheduledPost.next_attempt_at)).where(
        col(ScheduledPost.state) == PENDING, col(ScheduledPost.next_attempt_at) > after
    )
    return session.exec(query).one()


def claim(session: Session, post_id: int, now: datetime, lease_until: datetime) -> bool:
    """Atomically take a due post for delivery; False when another worker has it."""
    result = session.execute(
        update(ScheduledPost)
        .where(
            col(ScheduledPost.id) == post_id,
            or_(
                (col(ScheduledPost.state) == PENDING) & (col(ScheduledPost.next_attempt_at) <= now),
                (col(ScheduledPost.state) == SENDING) & (col(ScheduledPost.lease_until) < now),
            ),
        )
        .values(state=SENDING, lease_until=lease_until, attempts=ScheduledPost.attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


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
