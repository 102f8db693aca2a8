"""Column types and the workspace scope shared by every table."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, bindparam, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, select


class UTCDateTime(TypeDecorator[datetime]):
    """Store timezone-aware datetimes as UTC and always load them back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("focusbot stores only timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Workspace:
    """The Slack workspace (and Enterprise Grid org, if any) a request belongs to."""

    team_id: str
    enterprise_id: str = ""


def in_workspaces(table: Any, workspaces: Collection[Workspace]) -> ColumnElement[bool]:
    """Return the condition that a row of this table belongs to one of these workspaces."""
    keys = sorted({(workspace.enterprise_id, workspace.team_id) for workspace in workspaces})
    return tuple_(table.enterprise_id, table.team_id).in_(keys)


def in_channels(table: Any, places: Collection[tuple[Workspace, str]]) -> ColumnElement[bool]:
    """Return the condition that a row of this table belongs to one of these channels."""
    keys = sorted({(w.enterprise_id, w.team_id, channel_id) for w, channel_id in places})
    return tuple_(table.enterprise_id, table.team_id, table.channel_id).in_(keys)


Row = TypeVar("Row", bound=SQLModel)


def rows_in_channels(
    session: Session, table: type[Row], places: Collection[tuple[Workspace, str]]
) -> dict[tuple[Workspace, str], Row]:
    """Return a table's row of each of these channels in one query, by workspace and channel."""
    if not places:
        return {}
    rows: Any = session.exec(select(table).where(in_channels(table, places)))
    return {(Workspace(row.team_id, row.enterprise_id), row.channel_id): row for row in rows}


def of_bound_workspace(table: Any) -> tuple[ColumnElement[bool], ...]:
    """Return the conditions that a row belongs to the workspace bound by `bound_values`."""
    return (
        table.enterprise_id == bindparam("enterprise_id"),
        table.team_id == bindparam("team_id"),
    )


def of_bound_channel(table: Any) -> tuple[ColumnElement[bool], ...]:
    """Return the conditions that a row belongs to the channel bound by `bound_values`."""
    return (*of_bound_workspace(table), table.channel_id == bindparam("channel_id"))


def bound_values(workspace: Workspace, **more: Any) -> dict[str, Any]:
    """Return a workspace's values (and more) for a statement built with `of_bound_…` conditions."""
    return {"enterprise_id": workspace.enterprise_id, "team_id": workspace.team_id, **more}
