"""The series behind `/pain top chart`: distinct people per week for the top themes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.pain.demand import demand_in
from bot.pain.themes import top_themes
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
    windows = [
        (start, start + WEEK + timedelta(seconds=1) if start + WEEK >= now else start + WEEK)
        for start in starts
    ]
    shown = [theme.theme.id or 0 for theme in themes]
    per_week = [week.of(shown) for week in demand_in(session, workspace, windows)]
    return [
        DemandTrend(theme.title[:50], starts, tuple(week[theme_id] for week in per_week))
        for theme, theme_id in zip(themes, shown, strict=True)
    ]
