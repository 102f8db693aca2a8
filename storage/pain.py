"""Tables and queries of pain points, their themes, the people who hit them and status changes."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime, Workspace, bound_values, of_bound_workspace

NEW, ACKNOWLEDGED, PLANNED, IN_PROGRESS, SOLVED, WONT_FIX = (
    "new",
    "acknowledged",
    "planned",
    "in_progress",
    "solved",
    "wont_fix",
)
STATUSES = (NEW, ACKNOWLEDGED, PLANNED, IN_PROGRESS, SOLVED, WONT_FIX)
CLOSED_STATUSES = (SOLVED, WONT_FIX)


class PainTheme(SQLModel, table=True):
    """A group of pain points that are the same complaint."""

    __tablename__ = "pain_theme"
    __table_args__ = (Index("ix_pain_theme_workspace", "enterprise_id", "team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    name: str | None = Field(default=None, max_length=150)
    status: str = Field(default=NEW, max_length=16)
    note: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    crossed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PainPoint(SQLModel, table=True):
    """One complaint, as someone raised it."""

    __tablename__ = "pain_point"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", "number"),
        UniqueConstraint("enterprise_id", "team_id", "channel_id", "message_ts"),
        Index("ix_pain_point_workspace_created", "enterprise_id", "team_id", "created_at"),
        Index("ix_pain_point_workspace_id", "enterprise_id", "team_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    number: int
    text: str = Field(sa_type=Text)
    reporter_id: str = Field(max_length=32)
    logged_by: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    theme_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pain_theme.id"), index=True, nullable=False)
    )
    source: str = Field(default="command", max_length=16)
    permalink: str | None = Field(default=None, max_length=500)
    message_ts: str | None = Field(default=None, max_length=32)


class PainReport(SQLModel, table=True):
    """A person hitting a pain point: its reporter, or someone who said "me too"."""

    __tablename__ = "pain_report"
    __table_args__ = (
        UniqueConstraint("pain_id", "user_id"),
        Index("ix_pain_report_workspace_at", "enterprise_id", "team_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    pain_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("pain_point.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    user_id: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)


class PainStatusChange(SQLModel, table=True):
    """A lead setting a theme's status, with a note for the people who reported it."""

    __tablename__ = "pain_status_change"

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("pain_theme.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    status: str = Field(max_length=16)
    note: str = Field(default="", max_length=1000)
    actor_id: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class PainSettings(SQLModel, table=True):
    """A workspace's demand threshold and the reaction that logs a message."""

    __tablename__ = "pain_settings"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    threshold_people: int = 3
    threshold_weeks: int = 4
    reaction: str | None = Field(default=None, max_length=100)
    # Counts regroupings (pain points moved between themes), so every process's in-memory
    # demand ledger knows to reload.
    regrouped: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# The queries every `/pain <text>` runs, built once: a request only binds its values.
_IN_WORKSPACE = of_bound_workspace(PainPoint)
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LAST_NUMBER = select(func.max(PainPoint.number)).where(*_IN_WORKSPACE)
_POINT_IDS_AFTER = select(PainPoint.id).where(
    *_IN_WORKSPACE, col(PainPoint.id) > bindparam("after_id")
)
_TEXTS_OF = (
    select(PainPoint.id, PainPoint.text)
    .where(col(PainPoint.id).in_(_IDS))
    .order_by(col(PainPoint.id))
)
_TEXTS_AFTER = (
    select(PainPoint.id, PainPoint.text)
    .where(*_IN_WORKSPACE, col(PainPoint.id) > bindparam("after_id"))
    .order_by(col(PainPoint.id))
    .limit(bindparam("limit"))
)
_THEME_IDS_OF_POINTS = select(PainPoint.id, PainPoint.theme_id).where(col(PainPoint.id).in_(_IDS))
_POINTS_WITH_THEMES = (
    select(PainPoint, PainTheme)
    .join(PainTheme, col(PainTheme.id) == col(PainPoint.theme_id))
    .where(col(PainPoint.id).in_(_IDS))
)
_REPORTERS_OF_THEME = (
    select(PainReport.user_id, func.min(PainReport.at))
    .join(PainPoint, col(PainPoint.id) == col(PainReport.pain_id))
    .where(PainPoint.theme_id == bindparam("theme_id"))
    .group_by(col(PainReport.user_id))
    .order_by(func.min(PainReport.at), col(PainReport.user_id))
)
_REPORTERS_OF_THEME_SINCE = _REPORTERS_OF_THEME.where(col(PainReport.at) >= bindparam("since"))
_LOCK_WORKSPACE = (
    update(PainSettings)
    .where(
        col(PainSettings.enterprise_id) == bindparam("in_enterprise_id"),
        col(PainSettings.team_id) == bindparam("in_team_id"),
    )
    .values(threshold_people=PainSettings.threshold_people)
    .returning(col(PainSettings.threshold_people), col(PainSettings.threshold_weeks))
)


def in_workspace(workspace: Workspace) -> tuple:
    """Return the conditions that keep a pain point query inside a workspace."""
    return (
        PainPoint.enterprise_id == workspace.enterprise_id,
        PainPoint.team_id == workspace.team_id,
    )


def find_point(session: Session, workspace: Workspace, number: int) -> PainPoint | None:
    """Return the workspace's pain point with this number."""
    return session.exec(
        select(PainPoint).where(*in_workspace(workspace), PainPoint.number == number)
    ).first()


def find_by_message(
    session: Session, workspace: Workspace, channel_id: str, message_ts: str
) -> PainPoint | None:
    """Return the pain point logged from this message, if any."""
    return session.exec(
        select(PainPoint).where(
            *in_workspace(workspace),
            PainPoint.channel_id == channel_id,
            PainPoint.message_ts == message_ts,
        )
    ).first()


def get_theme(session: Session, workspace: Workspace, theme_id: int) -> PainTheme | None:
    """Return a theme by id, only if it belongs to the workspace."""
    theme = session.get(PainTheme, theme_id)
    if theme is None or (theme.team_id, theme.enterprise_id) != (
        workspace.team_id,
        workspace.enterprise_id,
    ):
        return None
    return theme


def last_number(session: Session, workspace: Workspace) -> int:
    """Return the highest pain point number in the workspace (0 when none)."""
    found = session.execute(_LAST_NUMBER, bound_values(workspace)).scalar_one()
    return int(found or 0)


def point_ids_after(session: Session, workspace: Workspace, after_id: int) -> list[int]:
    """Return the ids of the workspace's pain points above `after_id`."""
    rows = session.execute(_POINT_IDS_AFTER, bound_values(workspace, after_id=after_id)).scalars()
    return sorted(int(point_id or 0) for point_id in rows)


def texts_of(session: Session, ids: Sequence[int]) -> list[tuple[int, str]]:
    """Return (id, text) of these pain points, by id."""
    if not ids:
        return []
    rows = session.execute(_TEXTS_OF, {"ids": list(ids)})
    return [(int(point_id or 0), text) for point_id, text in rows]


def texts_after(
    session: Session, workspace: Workspace, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """Return (id, text) of the workspace's next pain points above an id, by id."""
    rows = session.execute(_TEXTS_AFTER, bound_values(workspace, after_id=after_id, limit=limit))
    return [(int(point_id or 0), text) for point_id, text in rows]


def workspaces_with_points(session: Session) -> list[Workspace]:
    """Return the workspaces that logged pain points."""
    rows = session.exec(select(PainTheme.team_id, PainTheme.enterprise_id).distinct())
    return [Workspace(team_id, enterprise_id) for team_id, enterprise_id in rows]


def all_texts(session: Session, workspace: Workspace) -> Iterator[tuple[int, str]]:
    """Yield (id, text) of every pain point of the workspace, by id."""
    rows = session.exec(
        select(PainPoint.id, PainPoint.text)
        .where(*in_workspace(workspace))
        .order_by(col(PainPoint.id))
        .execution_options(yield_per=5000)
    )
    for point_id, text in rows:
        yield int(point_id or 0), text


def theme_ids_of_points(session: Session, ids: Iterable[int]) -> dict[int, int]:
    """Return the theme of each of these pain points."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.execute(_THEME_IDS_OF_POINTS, {"ids": wanted})
    return {int(point_id or 0): int(theme_id) for point_id, theme_id in rows}


def points_with_themes(
    session: Session, ids: Iterable[int]
) -> dict[int, tuple[PainPoint, PainTheme]]:
    """Return these pain points by id, each with its theme."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.execute(_POINTS_WITH_THEMES, {"ids": wanted})
    return {point.id or 0: (point, theme) for point, theme in rows}


def theme_sizes(session: Session, theme_ids: Iterable[int]) -> dict[int, int]:
    """Return how many pain points each theme holds."""
    wanted = list(set(theme_ids))
    if not wanted:
        return {}
    rows = session.exec(
        select(PainPoint.theme_id, func.count())
        .where(col(PainPoint.theme_id).in_(wanted))
        .group_by(col(PainPoint.theme_id))
    )
    return {theme_id: int(count) for theme_id, count in rows}


def points_of_theme(session: Session, theme_id: int) -> list[PainPoint]:
    """Return a theme's pain points, oldest first."""
    return list(
        session.exec(
            select(PainPoint).where(PainPoint.theme_id == theme_id).order_by(col(PainPoint.id))
        )
    )


def reporters_of_points(session: Session, pain_ids: Sequence[int]) -> dict[int, list[str]]:
    """Return the people who hit each pain point, first first."""
    found: dict[int, list[str]] = {pain_id: [] for pain_id in pain_ids}
    if not pain_ids:
        return found
    rows = session.exec(
        select(PainReport.pain_id, PainReport.user_id)
        .where(col(PainReport.pain_id).in_(list(pain_ids)))
        .order_by(col(PainReport.id))
    )
    for pain_id, user_id in rows:
        found[pain_id].append(user_id)
    return found


def reporters_of_theme(session: Session, theme_id: int, since: datetime | None = None) -> list[str]:
    """Return the distinct people who hit a theme (since a moment), first reporter first."""
    if since is None:
        rows = session.execute(_REPORTERS_OF_THEME, {"theme_id": theme_id})
    else:
        rows = session.execute(_REPORTERS_OF_THEME_SINCE, {"theme_id": theme_id, "since": since})
    return [user_id for user_id, _ in rows]


def reporters_of_themes(session: Session, theme_ids: Sequence[int]) -> dict[int, list[str]]:
    """Return the distinct people who hit each theme, first reporter first."""
    found: dict[int, list[str]] = {theme_id: [] for theme_id in theme_ids}
    if not theme_ids:
        return found
    first_at = func.min(PainReport.at)
    rows = session.exec(
        select(PainPoint.theme_id, PainReport.user_id, first_at)
        .join(PainPoint, col(PainPoint.id) == col(PainReport.pain_id))
        .where(col(PainPoint.theme_id).in_(list(set(theme_ids))))
        .group_by(col(PainPoint.theme_id), col(PainReport.user_id))
        .order_by(col(PainPoint.theme_id), first_at, col(PainReport.user_id))
    )
    for theme_id, user_id, _ in rows:
        found[theme_id].append(user_id)
    return found


def has_report(session: Session, pain_id: int, user_id: str) -> bool:
    """Tell whether a person already hit a pain point."""
    return (
        session.exec(
            select(PainReport.id).where(
                PainReport.pain_id == pain_id, PainReport.user_id == user_id
            )
        ).first()
        is not None
    )


def theme_spans(session: Session, theme_ids: Sequence[int]) -> dict[int, tuple[datetime, datetime]]:
    """Return when each theme was first and last reported."""
    if not theme_ids:
        return {}
    rows = session.exec(
        select(PainPoint.theme_id, func.min(PainReport.at), func.max(PainReport.at))
        .join(PainPoint, col(PainPoint.id) == col(PainReport.pain_id))
        .where(col(PainPoint.theme_id).in_(list(theme_ids)))
        .group_by(col(PainPoint.theme_id))
    )
    return {theme_id: (first, last) for theme_id, first, last in rows}


def latest_points(session: Session, theme_ids: Sequence[int]) -> dict[int, PainPoint]:
    """Return each theme's most recent pain point (its sample quote)."""
    return _edge_points(session, theme_ids, func.max)


def first_points(session: Session, theme_ids: Sequence[int]) -> dict[int, PainPoint]:
    """Return each theme's first pain point (what names a theme nobody named)."""
    return _edge_points(session, theme_ids, func.min)


def _edge_points(session: Session, theme_ids: Sequence[int], edge: Any) -> dict[int, PainPoint]:
    if not theme_ids:
        return {}
    chosen = (
        select(edge(PainPoint.id))
        .where(col(PainPoint.theme_id).in_(list(theme_ids)))
        .group_by(col(PainPoint.theme_id))
    )
    rows = session.exec(select(PainPoint).where(col(PainPoint.id).in_(chosen)))
    return {point.theme_id: point for point in rows}


def themes_by_id(session: Session, theme_ids: Iterable[int]) -> dict[int, PainTheme]:
    """Return themes by id."""
    wanted = list(set(theme_ids))
    if not wanted:
        return {}
    rows = session.exec(select(PainTheme).where(col(PainTheme.id).in_(wanted)))
    return {theme.id or 0: theme for theme in rows}


def theme_ids_of(session: Session, workspace: Workspace) -> list[int]:
    """Return the workspace's themes that hold pain points."""
    rows = session.exec(select(PainPoint.theme_id).where(*in_workspace(workspace)).distinct())
    return sorted(int(theme_id) for theme_id in rows)


def list_points(
    session: Session, workspace: Workspace, statuses: Sequence[str], limit: int
) -> tuple[list[PainPoint], int]:
    """Return the newest pain points whose theme has one of these statuses, and their number."""
    condition = (
        *in_workspace(workspace),
        col(PainTheme.status).in_(list(statuses)),
    )
    total = session.exec(
        select(func.count())
        .select_from(PainPoint)
        .join(PainTheme, col(PainTheme.id) == col(PainPoint.theme_id))
        .where(*condition)
    ).one()
    rows = session.exec(
        select(PainPoint)
        .join(PainTheme, col(PainTheme.id) == col(PainPoint.theme_id))
        .where(*condition)
        .order_by(col(PainPoint.id).desc())
        .limit(limit)
    )
    return list(rows), int(total)


def points_between(
    session: Session, workspace: Workspace, channel_id: str, start: datetime, end: datetime
) -> list[PainPoint]:
    """Return the pain points logged in a channel in [start, end), oldest first."""
    return list(
        session.exec(
            select(PainPoint)
            .where(
                *in_workspace(workspace),
                PainPoint.channel_id == channel_id,
                col(PainPoint.created_at) >= start,
                col(PainPoint.created_at) < end,
            )
            .order_by(col(PainPoint.id))
        )
    )


def crossed_between(
    session: Session, workspace: Workspace, start: datetime, end: datetime
) -> list[PainTheme]:
    """Return the themes that crossed the demand threshold in [start, end)."""
    return list(
        session.exec(
            select(PainTheme)
            .where(
                PainTheme.enterprise_id == workspace.enterprise_id,
                PainTheme.team_id == workspace.team_id,
                col(PainTheme.crossed_at) >= start,
                col(PainTheme.crossed_at) < end,
            )
            .order_by(col(PainTheme.crossed_at))
        )
    )


def status_changes_between(
    session: Session, workspace: Workspace, start: datetime, end: datetime
) -> list[tuple[PainStatusChange, PainTheme]]:
    """Return the status changes made in [start, end), oldest first, with their themes."""
    rows = session.exec(
        select(PainStatusChange, PainTheme)
        .join(PainTheme, col(PainTheme.id) == col(PainStatusChange.theme_id))
        .where(
            PainTheme.enterprise_id == workspace.enterprise_id,
            PainTheme.team_id == workspace.team_id,
            col(PainStatusChange.at) >= start,
            col(PainStatusChange.at) < end,
        )
        .order_by(col(PainStatusChange.at))
    )
    return [(change, theme) for change, theme in rows]


def all_points(
    session: Session, workspace: Workspace | None, batch: int = 1000
) -> Iterator[tuple[PainPoint, PainTheme]]:
    """Yield every pain point with its theme, oldest first, in batches (one workspace, or all)."""
    last_id = 0
    while True:
        query = (
            select(PainPoint, PainTheme)
            .join(PainTheme, col(PainTheme.id) == col(PainPoint.theme_id))
            .where(col(PainPoint.id) > last_id)
            .order_by(col(PainPoint.id))
            .limit(batch)
        )
        if workspace is not None:
            query = query.where(*in_workspace(workspace))
        rows = list(session.exec(query))
        if not rows:
            return
        yield from rows
        last_id = rows[-1][0].id or 0


def count_points(session: Session, workspace: Workspace | None) -> int:
    """Return how many pain points there are (in a workspace, or in all)."""
    query = select(func.count()).select_from(PainPoint)
    if workspace is not None:
        query = query.where(*in_workspace(workspace))
    return int(session.exec(query).one())


class Threshold(NamedTuple):
    """When the leads hear of a theme: this many people within this many weeks."""

    people: int
    weeks: int


def lock_workspace(session: Session, workspace: Workspace) -> Threshold:
    """Hold the workspace's pain points until the transaction ends; return its threshold.

    Numbers come one at a time, and a theme's demand is counted by one request at a time.
    """
    params = {"in_enterprise_id": workspace.enterprise_id, "in_team_id": workspace.team_id}
    found = session.connection().execute(_LOCK_WORKSPACE, params).first()
    if found is not None:
        return Threshold(*found)
    settings = PainSettings(enterprise_id=workspace.enterprise_id, team_id=workspace.team_id)
    try:
        with session.begin_nested():
            session.add(settings)
    except IntegrityError:
        # Another request made the row a moment ago.
        return Threshold(*session.connection().execute(_LOCK_WORKSPACE, params).one())
    return Threshold(settings.threshold_people, settings.threshold_weeks)


def note_regrouped(session: Session, workspace: Workspace) -> None:
    """Count a regrouping of the workspace's pain points (one moved to another theme)."""
    lock_workspace(session, workspace)
    session.connection().execute(
        update(PainSettings)
        .where(
            col(PainSettings.enterprise_id) == workspace.enterprise_id,
            col(PainSettings.team_id) == workspace.team_id,
        )
        .values(regrouped=PainSettings.regrouped + 1)
    )


def report_ids_after(session: Session, after_id: int) -> list[int]:
    """Return the ids of reports (of every workspace) above an id."""
    # By id alone, so both databases walk the primary key from the id: a few recent rows.
    rows = session.exec(select(PainReport.id).where(col(PainReport.id) > after_id))
    return [int(report_id or 0) for report_id in rows]


def settings_of(session: Session, workspace: Workspace) -> PainSettings | None:
    """Return the workspace's pain point settings, if it changed any."""
    return session.exec(
        select(PainSettings).where(
            PainSettings.enterprise_id == workspace.enterprise_id,
            PainSettings.team_id == workspace.team_id,
        )
    ).first()
