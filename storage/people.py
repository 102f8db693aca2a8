"""What focusbot remembers about people: their timezone, fetched from Slack."""

from datetime import datetime

from sqlalchemy import UniqueConstraint, bindparam
from sqlmodel import Field, Session, SQLModel, select

from storage.base import UTCDateTime, Workspace, bound_values, of_bound_workspace


class Person(SQLModel, table=True):
    """A Slack user's timezone, cached."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    timezone: str = Field(max_length=64)
    fetched_at: datetime = Field(sa_type=UTCDateTime)


_FIND_PERSON = select(Person).where(
    *of_bound_workspace(Person), Person.user_id == bindparam("user_id")
)  # built once: most commands run it


def find_person(session: Session, workspace: Workspace, user_id: str) -> Person | None:
    """Return the cached person, if any."""
    return session.exec(_FIND_PERSON, params=bound_values(workspace, user_id=user_id)).first()
