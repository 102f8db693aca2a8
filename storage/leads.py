"""Who leads a workspace: the people allowed to review pain points and change team settings."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime, Workspace


class Lead(SQLModel, table=True):
    """A lead of a workspace."""

    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(sa_type=UTCDateTime)


def leads_of(session: Session, workspace: Workspace) -> list[Lead]:
    """Return the workspace's leads, first named first."""
    return list(
        session.exec(
            select(Lead)
            .where(Lead.enterprise_id == workspace.enterprise_id, Lead.team_id == workspace.team_id)
            .order_by(col(Lead.id))
        )
    )
