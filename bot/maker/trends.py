"""The series behind `/maker kept chart`: the share of maker time kept, week by week."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.maker.digest import maker_time_kept
from storage.base import Workspace

WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class KeptTrend:
    """Maker time kept (in %) in each of the last weeks, oldest first; None for a week unknown."""

    week_starts: tuple[datetime, ...]
    kept: tuple[float | None, ...]


def kept_per_week(
    session: Session, workspace: Workspace, channel_id: str, weeks: int, now: datetime
) -> KeptTrend | None:
    """Return the team's maker time kept in each of the last weeks; None without calendars."""
    starts = tuple(now - (weeks - index) * WEEK for index in range(weeks))
    kept = [
        maker_time_kept(session, workspace, channel_id, start, start + WEEK) for start in starts
    ]
    if all(week is None for week in kept):
        return None
    return KeptTrend(starts, tuple(None if week is None else week.share * 100 for week in kept))
