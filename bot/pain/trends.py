"""The series behind `/pain top chart`: distinct people per week for the top themes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.pain.themes import top_themes
from storage import pain as store
from storage.base import Workspace

CHART_THEMES = 5
WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class DemandTrend:
    """One theme's distinct people per week, oldest week first."""

    title: str
    week_starts: tuple[datetime, ...]
    people: tuple[int, ...]


def weekly_demand(
    session: Session, workspace: Workspace, weeks: int, now: datetime
) -> list[DemandTrend]:
    """Return the top themes of the last weeks with their distinct people in each week."""
    themes, _ = top_themes(session, workspace, weeks, now, limit=CHART_THEMES)
    starts = tuple(now - (weeks - index) * WEEK for index in range(weeks))
    # The last week ends a second after now, as `/pain top` counts it.
    per_week = [
        store.demand_between(session, workspace, start, start + WEEK + timedelta(seconds=1))
        if start + WEEK >= now
        else store.demand_between(session, workspace, start, start + WEEK)
        for start in starts
    ]
    return [
        DemandTrend(
            theme.title[:50],
            starts,
            tuple(week.get(theme.theme.id or 0, 0) for week in per_week),
        )
        for theme in themes
    ]
