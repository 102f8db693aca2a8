"""Tables and queries of maker time: team schedules, members, linked calendars, their meetings."""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import (
    UTCDateTime,
    Workspace,
    bound_values,
    in_channels,
    of_bound_channel,
    of_bound_workspace,
    rows_in_channels,
)


class MakerSchedule(SQLModel, table=True):
    """A team channel's working day, meeting windows and meeting-free weekdays."""

    __tablename__ = "maker_schedule"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    timezone: str = Field(default="UTC", max_length=64)
    windows: str = Field(default="", max_length=500)
    day_start: int = 9 * 60
    day_end: int = 17 * 60 + 30
    meeting_free_days: str = Field(default="", max_length=16)
    long_minutes: int = 30
    big_attendees: int = 6
    defer_posts: bool = True
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class MakerMember(SQLModel, table=True):
    """Someone who uses `/maker` in a team channel, and so belongs to that team."""

    __tablename__ = "maker_member"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32, index=True)
    seen_at: datetime = Field(sa_type=UTCDateTime)


class MakerCalendar(SQLModel, table=True):
    """A member's private iCal address, and how reading it went."""

    __tablename__ = "maker_calendar"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    url: str = Field(sa_type=Text)
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    linked_at: datetime = Field(sa_type=UTCDateTime)
    last_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expanded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
    # Entries of the last reading that could not be read, as the member was last told.
    unreadable_entries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class MakerMeeting(SQLModel, table=True):
    """One occurrence of a meeting read from a linked calendar."""

    __tablename__ = "maker_meeting"
    __table_args__ = (
        UniqueConstraint("calendar_id", "occurrence_key"),
        # A calendar's meetings before a moment, without reading the months after it.
        Index("ix_maker_meeting_calendar_id_start", "calendar_id", "start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    calendar_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("maker_calendar.id", ondelete="CASCADE"), nullable=False
        )
    )
    occurrence_key: str = Field(max_length=64)
    start: datetime = Field(sa_type=UTCDateTime, index=True)
    end: datetime = Field(sa_type=UTCDateTime)
    people: int = 0
    organizer: str = Field(default="", max_length=200)
    summary: str = Field(default="", max_length=200)


MEMBER_SEEN_PRECISION = timedelta(days=1)  # how stale a member's seen_at may grow

# The queries every `/maker` in a team channel runs, built once: a request only binds its values.
_FIND_SCHEDULE = select(MakerSchedule).where(*of_bound_channel(MakerSchedule))
_MEMBERS = SQLModel.metadata.tables["maker_member"]
_NOTE_MEMBER = {
    dialect: (statement := insert(_MEMBERS)).on_conflict_do_update(
        index_elements=["enterprise_id", "team_id", "channel_id", "user_id"],
        set_={"seen_at": statement.excluded.seen_at},
        where=_MEMBERS.c.seen_at < bindparam("stale_before"),
    )
    for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
_CHANNEL_MEMBERS = select(MakerMember.user_id).where(*of_bound_channel(MakerMember))
_CHANNEL_MEETINGS = (
    select(MakerCalendar.id, MakerMeeting.start, MakerMeeting.end)
    .outerjoin(
        MakerMeeting,
        and_(
            col(MakerMeeting.calendar_id) == col(MakerCalendar.id),
            col(MakerMeeting.start) < bindparam("end"),
            col(MakerMeeting.end) > bindparam("start"),
        ),
    )
    .where(
        *of_bound_workspace(MakerCalendar),
        col(MakerCalendar.user_id).in_(_CHANNEL_MEMBERS),
    )
    .order_by(col(MakerMeeting.start), col(MakerMeeting.id))
)


def find_schedule(session: Session, workspace: Workspace, channel_id: str) -> MakerSchedule | None:
    """Return the channel's schedule, if it has one."""
    return session.exec(
        _FIND_SCHEDULE, params=bound_values(workspace, channel_id=channel_id)
    ).first()


def note_member(
    session: Session, workspace: Workspace, channel_id: str, user_id: str, now: datetime
) -> None:
    """Record in one statement that someone belongs to a team channel, seen now.

    A member seen within the day is left as is: a row rewritten on every `/maker` is a write
    (and on PostgreSQL a dead row version) per command for nothing.
    """
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    session.execute(
        _NOTE_MEMBER[dialect],
        bound_values(
            workspace,
            channel_id=channel_id,
            user_id=user_id,
            seen_at=now,
            stale_before=now - MEMBER_SEEN_PRECISION,
        ),
    )


def meetings_of_channel(
    session: Session, workspace: Workspace, channel_id: str, start: datetime, end: datetime
) -> tuple[list[tuple[datetime, datetime]], int]:
    """Return when the channel's members' calendars have meetings overlapping [start, end),
    earliest first, and how many calendars they have linked, in one query."""
    rows = session.connection().execute(  # plain rows: the ORM's loading would only cost here
        _CHANNEL_MEETINGS, bound_values(workspace, channel_id=channel_id, start=start, end=end)
    )
    calendars: set[int | None] = set()
    meetings = []
    for calendar_id, meeting_start, meeting_end in rows:
        calendars.add(calendar_id)
        if meeting_start is not None and meeting_end is not None:
            meetings.append((meeting_start, meeting_end))
    return meetings, len(calendars)


def schedules_in(
    session: Session, places: Collection[tuple[Workspace, str]]
) -> dict[tuple[Workspace, str], MakerSchedule]:
    """Return the schedules of several channels in one query, by workspace and channel."""
    return rows_in_channels(session, MakerSchedule, places)


def schedules_of_member(
    session: Session, workspace: Workspace, user_id: str
) -> list[MakerSchedule]:
    """Return the schedules of the team channels a person belongs to."""
    channels = select(MakerMember.channel_id).where(
        MakerMember.enterprise_id == workspace.enterprise_id,
        MakerMember.team_id == workspace.team_id,
        MakerMember.user_id == user_id,
    )
    return list(
        session.exec(
            select(MakerSchedule)
            .where(
                MakerSchedule.enterprise_id == workspace.enterprise_id,
                MakerSchedule.team_id == workspace.team_id,
                col(MakerSchedule.channel_id).in_(channels),
            )
            .order_by(col(MakerSchedule.id))
        )
    )


def calendars_of_channel(
    session: Session, workspace: Workspace, channel_id: str
) -> list[MakerCalendar]:
    """Return the linked calendars of a team channel's members."""
    members = select(MakerMember.user_id).where(
        MakerMember.enterprise_id == workspace.enterprise_id,
        MakerMember.team_id == workspace.team_id,
        MakerMember.channel_id == channel_id,
    )
    return list(
        session.exec(
            select(MakerCalendar)
            .where(
                MakerCalendar.enterprise_id == workspace.enterprise_id,
                MakerCalendar.team_id == workspace.team_id,
                col(MakerCalendar.user_id).in_(members),
            )
            .order_by(col(MakerCalendar.id))
        )
    )


def find_calendar(session: Session, workspace: Workspace, user_id: str) -> MakerCalendar | None:
    """Return the person's linked calendar, if any."""
    return session.exec(
        select(MakerCalendar).where(
            MakerCalendar.enterprise_id == workspace.enterprise_id,
            MakerCalendar.team_id == workspace.team_id,
            MakerCalendar.user_id == user_id,
        )
    ).first()


def calendars_of_channels(
    session: Session, places: Collection[tuple[Workspace, str]]
) -> dict[tuple[Workspace, str], list[MakerCalendar]]:
    """Return the linked calendars of several team channels' members in one query."""
    found: dict[tuple[Workspace, str], list[MakerCalendar]] = {place: [] for place in places}
    if not places:
        return found
    rows = session.exec(
        select(MakerMember.channel_id, MakerCalendar)
        .join(
            MakerMember,
            (col(MakerMember.enterprise_id) == col(MakerCalendar.enterprise_id))
            & (col(MakerMember.team_id) == col(MakerCalendar.team_id))
            & (col(MakerMember.user_id) == col(MakerCalendar.user_id)),
        )
        .where(in_channels(MakerMember, places))
        .order_by(col(MakerCalendar.id))
    )
    for channel_id, calendar in rows:
        found[(Workspace(calendar.team_id, calendar.enterprise_id), channel_id)].append(calendar)
    return found


def meetings_between(
    session: Session, calendar_ids: Sequence[int], start: datetime, end: datetime
) -> list[MakerMeeting]:
    """Return the meetings of these calendars that overlap [start, end), earliest first."""
    if not calendar_ids:
        return []
    return list(
        session.exec(
            select(MakerMeeting)
            .where(
                col(MakerMeeting.calendar_id).in_(list(calendar_ids)),
                MakerMeeting.start < end,
                MakerMeeting.end > start,
            )
            .order_by(col(MakerMeeting.start), col(MakerMeeting.id))
        )
    )


def replace_meetings(
    session: Session,
    calendar_id: int,
    start: datetime,
    end: datetime,
    meetings: Sequence[MakerMeeting],
) -> None:
    """Make these the calendar's meetings starting in [start, end); keep older ones."""
    stale = session.exec(
        select(MakerMeeting).where(
            MakerMeeting.calendar_id == calendar_id,
            MakerMeeting.start >= start,
            MakerMeeting.start < end,
        )
    )
    for meeting in stale:
        session.delete(meeting)
    session.flush()
    kept = {
        row.occurrence_key
        for row in session.exec(select(MakerMeeting).where(MakerMeeting.calendar_id == calendar_id))
    }
    for meeting in meetings:
        if meeting.occurrence_key not in kept:
            kept.add(meeting.occurrence_key)
            session.add(meeting)


def forget_meetings(session: Session, calendar_id: int) -> None:
    """Delete every meeting read from a calendar."""
    session.execute(delete(MakerMeeting).where(col(MakerMeeting.calendar_id) == calendar_id))
