"""The requests focusbot has already taken from Slack, so a retried one is not handled twice."""

from datetime import datetime

from sqlalchemy import Connection, delete
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


_RECEIVED = SQLModel.metadata.tables[ReceivedRequest.__tablename__]
# Built once: each request runs the same statement, compiled once per dialect and cached.
_RECORD_ONCE = {
    dialect: insert(_RECEIVED)
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(_RECEIVED.c.key)
    for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def record_once(connection: Connection, key: str, now: datetime) -> bool:
    """Record a request's key in one statement; False when it was recorded before."""
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    rows = connection.execute(_RECORD_ONCE[dialect], {"key": key, "received_at": now})
    return rows.first() is not None


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
