"""Pain point queries of many channels' or workspaces' digests at once (beside storage.pain's)."""

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from storage.base import Workspace, in_channels, in_workspaces
from storage.pain import PainPoint, PainReport, PainSettings, PainStatusChange, PainTheme

Report = tuple[int, int, str, datetime]  # id, theme id, person, moment


def points_in_channels(
    session: Session, places: Collection[tuple[Workspace, str]], start: datetime, end: datetime
) -> list[PainPoint]:
    """Return the pain points logged in these channels in [start, end), oldest first."""
    if not places:
        return []
    return list(
        session.exec(
            select(PainPoint)
            .where(
                in_channels(PainPoint, places),
                col(PainPoint.created_at) >= start,
                col(PainPoint.created_at) < end,
            )
            .order_by(col(PainPoint.id))
        )
    )


def crossed_in_workspaces(
    session: Session, workspaces: Collection[Workspace], start: datetime, end: datetime
) -> list[PainTheme]:
    """Return the themes of these workspaces that crossed the demand threshold in [start, end)."""
    if not workspaces:
        return []
    return list(
        session.exec(
            select(PainTheme)
            .where(
                in_workspaces(PainTheme, workspaces),
                col(PainTheme.crossed_at) >= start,
                col(PainTheme.crossed_at) < end,
            )
            .order_by(col(PainTheme.crossed_at))
        )
    )


def status_changes_in_workspaces(
    session: Session, workspaces: Collection[Workspace], start: datetime, end: datetime
) -> list[tuple[PainStatusChange, PainTheme]]:
    """Return these workspaces' status changes made in [start, end), oldest first, with themes."""
    if not workspaces:
        return []
    rows = session.exec(
        select(PainStatusChange, PainTheme)
        .join(PainTheme, col(PainTheme.id) == col(PainStatusChange.theme_id))
        .where(
            in_workspaces(PainTheme, workspaces),
            col(PainStatusChange.at) >= start,
            col(PainStatusChange.at) < end,
        )
        .order_by(col(PainStatusChange.at))
    )
    return [(change, theme) for change, theme in rows]


def regroupings_of(session: Session, workspaces: Collection[Workspace]) -> dict[Workspace, int]:
    """Return how many times each of these workspaces' pain points were regrouped (0 if never)."""
    found = dict.fromkeys(workspaces, 0)
    if not workspaces:
        return found
    rows = session.exec(
        select(PainSettings.enterprise_id, PainSettings.team_id, PainSettings.regrouped).where(
            in_workspaces(PainSettings, workspaces)
        )
    )
    for enterprise_id, team_id, regrouped in rows:
        found[Workspace(team_id, enterprise_id)] = int(regrouped or 0)
    return found


def reports_of_workspaces(
    session: Session, workspaces: Collection[Workspace]
) -> dict[Workspace, list[Report]]:
    """Return (id, theme id, person, moment) of every report of these workspaces, by workspace."""
    if not workspaces:
        return {}
    return _reports_by_workspace(
        session,
        in_workspaces(PainReport, workspaces),
    )


def reports_by_id_anywhere(session: Session, ids: Collection[int]) -> dict[Workspace, list[Report]]:
    """Return (id, theme id, person, moment) of these reports, by the workspace they belong to."""
    if not ids:
        return {}
    return _reports_by_workspace(session, col(PainReport.id).in_(sorted(ids)))


_REPORT_COLUMNS: tuple[Any, ...] = (
    PainReport.enterprise_id,
    PainReport.team_id,
    PainReport.id,
    PainPoint.theme_id,
    PainReport.user_id,
    PainReport.at,
)


def _reports_by_workspace(session: Session, condition: Any) -> dict[Workspace, list[Report]]:
    rows = session.execute(
        sql_select(*_REPORT_COLUMNS)
        .join(PainPoint, col(PainPoint.id) == col(PainReport.pain_id))
        .where(condition)
    )
    found: dict[Workspace, list[Report]] = defaultdict(list)
    for enterprise_id, team_id, report_id, theme_id, user_id, at in rows:
        found[Workspace(team_id, enterprise_id)].append(
            (int(report_id or 0), int(theme_id), user_id, at)
        )
    return found
