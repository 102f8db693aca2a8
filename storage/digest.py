"""When each channel gets the weekly ML sync digest."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime, Workspace, bound_values, of_bound_channel

DEFAULT_WEEKDAY, DEFAULT_MINUTE = 0, 10 * 60


class DigestSchedule(SQLModel, table=True):
    """A channel's weekly digest: its weekday and time in the team's timezone, or off."""

    __tablename__ = "digest_schedule"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    weekday: int | None = DEFAULT_WEEKDAY
    minute: int = DEFAULT_MINUTE
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


# Looked up on every `/pain <text>` (a channel that logs pain points gets a digest), built once.
_FIND_SCHEDULE = select(DigestSchedule).where(*of_bound_channel(DigestSchedule))


def find_schedule(session: Session, workspace: Workspace, channel_id: str) -> DigestSchedule | None:
    """Return the channel's digest schedule, if it has one."""
    return session.exec(
        _FIND_SCHEDULE, params=bound_values(workspace, channel_id=channel_id)
    ).first()


def schedules_by_id(session: Session, ids: Iterable[int]) -> dict[int, DigestSchedule]:
    """Return these digest schedules, by id, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(DigestSchedule).where(col(DigestSchedule.id).in_(wanted)))
    return {schedule.id or 0: schedule for schedule in rows}
