"""The requests focusbot has already taken from Slack, so a retried one is not handled twice."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col

from storage.base import UTCDateTime


class ReceivedRequest(SQLModel, table=True):
    """A Slack request seen once: its event id or trigger id."""

    __tablename__ = "received_request"

    key: str = Field(primary_key=True, max_length=255)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)


def forget_before(session: Session, cutoff: datetime) -> int:
    """Forget requests received before the cutoff; return how many."""
    result = session.execute(
        delete(ReceivedRequest).where(col(ReceivedRequest.received_at) < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def record_once(session: Session, key: str, now: datetime) -> bool:
    """Record a request's key in one statement; False when it was recorded before."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ReceivedRequest)
        .values(key=key, received_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(ReceivedRequest.key))
    )
    return session.execute(statement).first() is not None


HEALTH_PROBE_KEY = "health:probe"


def write_probe(session: Session, now: datetime) -> None:
    """Write one tiny row, so a database that cannot take writes fails here first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ReceivedRequest).values(key=HEALTH_PROBE_KEY, received_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"received_at": statement.excluded.received_at}
        )
    )


def forget(session: Session, key: str) -> None:
    """Forget one request, so that Slack's retry of it is taken."""
    session.execute(delete(ReceivedRequest).where(col(ReceivedRequest.key) == key))
