"""The requests focusbot has already taken from Slack, so a retried one is not handled twice."""

from datetime import datetime

from sqlalchemy import delete
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
