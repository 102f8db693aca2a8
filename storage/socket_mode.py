"""What each focusbot running in Socket Mode last said about its connection to Slack."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime


class SocketModeConnection(SQLModel, table=True):
    """One focusbot process's Socket Mode connection, as it last reported it."""

    __tablename__ = "socket_mode_connection"

    process: str = Field(primary_key=True, max_length=255)
    connected: bool
    connected_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_reconnect_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reconnects: int = 0
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


def report_connection(session: Session, connection: SocketModeConnection) -> None:
    """Save a process's report, replacing its previous one."""
    session.merge(connection)


def connections_seen_since(session: Session, since: datetime) -> list[SocketModeConnection]:
    """Return the reports made since a moment, the newest first."""
    statement = (
        select(SocketModeConnection)
        .where(col(SocketModeConnection.seen_at) >= since)
        .order_by(col(SocketModeConnection.seen_at).desc())
    )
    return list(session.exec(statement))


def forget_connections_before(session: Session, cutoff: datetime) -> None:
    """Forget the reports of processes silent since before the cutoff."""
    session.execute(delete(SocketModeConnection).where(col(SocketModeConnection.seen_at) < cutoff))


def forget_connection(session: Session, process: str) -> None:
    """Forget a process's report: it stopped."""
    session.execute(
        delete(SocketModeConnection).where(col(SocketModeConnection.process) == process)
    )
