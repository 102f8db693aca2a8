"""Themes and their demand: titles, the top themes, and the threshold that tells the leads."""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.common import outbox
from bot.common.leads import lead_ids, require_lead
from bot.pain.demand import demand_in, demand_in_workspaces, spans_and_edge_points
from storage import pain as store
from storage.base import Workspace
from storage.pain import PainPoint, PainSettings, PainTheme, Threshold

DM_KIND = "pain.dm"
RISING, STEADY, FALLING = "rising", "steady", "falling"


@dataclass(frozen=True)
class ThemeDemand:
    """A theme with the people who hit it in a window, against the window before."""

    theme: PainTheme
    title: str
    people: int
    previous: int
    first_seen: datetime
    last_seen: datetime
    quote: PainPoint

    @property
    def trend(self) -> str:
        """Say whether demand is rising, steady or falling against the previous window."""
        if self.people > self.previous:
            return RISING
        return FALLING if self.people < self.previous else STEADY


def top_themes(
    session: Session, workspace: Workspace, weeks: int, now: datetime, limit: int = 10
) -> tuple[list[ThemeDemand], int]:
    """Return the themes most people hit lately (with trend), and how many themes had any."""
    current, previous = demand_in(session, workspace, _lately(now, weeks))
    ranked = current.top(limit)
    facts = ThemeFacts.from_ledger(session, workspace, ranked)
    return facts.describe(ranked, current.of(ranked), previous.of(ranked)), len(current)


def top_themes_in_workspaces(
    session: Session, moments: Collection[tuple[Workspace, datetime]], weeks: int, limit: int = 10
) -> dict[tuple[Workspace, datetime], list[ThemeDemand]]:
    """Return the themes most people hit lately (with trend) as of each workspace's moment."""
    wanted = list(dict.fromkeys(moments))
    windows_of: dict[Workspace, list[tuple[datetime, datetime]]] = defaultdict(list)
    for workspace, now in wanted:
        windows_of[workspace] += _lately(now, weeks)
    demands = {
        workspace: iter(found)
        for workspace, found in demand_in_workspaces(session, windows_of).items()
    }
    ranked = {}
    for workspace, now in wanted:  # in the order their windows were asked for
        current, previous = next(demands[workspace]), next(demands[workspace])
        top = current.top(limit)
        ranked[(workspace, now)] = (top, current.of(top), previous.of(top))
    facts = ThemeFacts.read(session, [theme for top, _, _ in ranked.values() for theme in top])
    return {moment: facts.describe(*demand) for moment, demand in ranked.items()}


def _lately(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """Return the last weeks up to now (inclusive), and the same stretch before them."""
    window = timedelta(weeks=weeks)
    return [(now - window, now + timedelta(seconds=1)), (now - 2 * window, now - window)]


def describe_themes(
    session: Session, theme_ids: Sequence[int], current: dict[int, int], previous: dict[int, int]
) -> list[ThemeDemand]:
    """Return the demand of these themes, in this order, with their titles and quotes."""
    return ThemeFacts.read(session, theme_ids).describe(theme_ids, current, previous)


@dataclass(frozen=True)
class ThemeFacts:
    """What describing themes takes besides their demand: the themes, spans, quotes, founders."""

    themes: dict[int, PainTheme]
    spans: dict[int, tuple[datetime, datetime]]
    quotes: dict[int, PainPoint]
    founders: dict[int, PainPoint]

    @classmethod
    def read(cls, session: Session, theme_ids: Sequence[int]) -> "ThemeFacts":
        """Read the facts of these themes in four queries."""
        return cls(
            themes=store.themes_by_id(session, theme_ids),
            spans=store.theme_spans(session, theme_ids),
            quotes=store.latest_points(session, theme_ids),
            founders=store.first_points(session, theme_ids),
        )

    @classmethod
    def from_ledger(
        cls, session: Session, workspace: Workspace, theme_ids: Sequence[int]
    ) -> "ThemeFacts":
        """Read the themes; take the rest from the workspace's demand ledger, synced just now."""
        spans, founders, quotes = spans_and_edge_points(session, workspace, theme_ids)
        return cls(store.themes_by_id(session, theme_ids), spans, quotes, founders)

    def describe(
        self, theme_ids: Sequence[int], current: dict[int, int], previous: dict[int, int]
    ) -> list[ThemeDemand]:
        """Return the demand of these themes, in this order, with their titles and quotes."""
        return [
            ThemeDemand(
                theme=self.themes[theme_id],
                title=self.themes[theme_id].name or self.founders[theme_id].text,
                people=current.get(theme_id, 0),
                previous=previous.get(theme_id, 0),
                first_seen=self.spans[theme_id][0],
                last_seen=self.spans[theme_id][1],
                quote=self.quotes[theme_id],
            )
            for theme_id in theme_ids
            if theme_id in self.quotes
        ]


def theme_title(session: Session, theme: PainTheme) -> str:
    """Return a theme's name, or the words of its first pain point."""
    if theme.name:
        return theme.name
    assert theme.id is not None
    first = store.first_points(session, [theme.id]).get(theme.id)
    # A theme merged into another keeps its id (a pending DM may name it) but no pain points.
    return first.text if first is not None else f"a theme merged into another (#{theme.id})"


def titles_of_themes(session: Session, themes: Sequence[PainTheme]) -> dict[int, str]:
    """Return the titles of the themes that still hold pain points (merged-away ones have none)."""
    founders = store.first_points(session, [theme.id for theme in themes if theme.id is not None])
    return {
        theme.id: theme.name or founders[theme.id].text
        for theme in themes
        if theme.id is not None and theme.id in founders
    }


def settings_of(session: Session, workspace: Workspace) -> PainSettings:
    """Return the workspace's pain point settings (the defaults when it changed none)."""
    return store.settings_of(session, workspace) or PainSettings(
        enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
    )


def set_threshold(
    session: Session, workspace: Workspace, actor: str, people: int, weeks: int, now: datetime
) -> PainSettings:
    """Change when the leads hear of a growing theme."""
    require_lead(session, workspace, actor)
    settings = settings_of(session, workspace)
    settings.threshold_people, settings.threshold_weeks = people, weeks
    _save_settings(session, settings)
    return settings


def set_reaction(
    session: Session, workspace: Workspace, actor: str, emoji: str | None
) -> PainSettings:
    """Set the reaction that logs a message as a pain point (None turns it off)."""
    require_lead(session, workspace, actor)
    settings = settings_of(session, workspace)
    settings.reaction = emoji
    _save_settings(session, settings)
    return settings


def _save_settings(session: Session, settings: PainSettings) -> None:
    try:
        with session.begin_nested():
            session.add(settings)
    except IntegrityError:
        # A concurrent request saved the workspace's settings first; change those.
        found = store.settings_of(session, Workspace(settings.team_id, settings.enterprise_id))
        assert found is not None
        found.threshold_people, found.threshold_weeks = (
            settings.threshold_people,
            settings.threshold_weeks,
        )
        found.reaction = settings.reaction
        session.add(found)


def check_threshold(
    session: Session,
    workspace: Workspace,
    theme: PainTheme,
    now: datetime,
    threshold: Threshold | None = None,
) -> list[str]:
    """Tell the leads once when a theme reaches the demand threshold; return who, if it just did."""
    if theme.crossed_at is not None or theme.id is None:
        return []
    session.flush()
    if threshold is None:
        settings = settings_of(session, workspace)
        threshold = Threshold(settings.threshold_people, settings.threshold_weeks)
    people = store.reporters_of_theme(
        session, theme.id, since=now - timedelta(weeks=threshold.weeks)
    )
    if len(people) < threshold.people:
        return []
    theme.crossed_at = now
    session.add(theme)
    for lead in lead_ids(session, workspace):
        schedule_dm(
            session,
            workspace,
            lead,
            f"threshold:{theme.id}:{lead}",
            {"about": "threshold", "theme_id": theme.id, "people": people},
            now,
        )
    return people


def schedule_dm(
    session: Session,
    workspace: Workspace,
    user_id: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Schedule a direct message about pain points, once per key."""
    outbox.schedule_post(
        session,
        workspace=workspace,
        channel_id=user_id,
        kind=DM_KIND,
        due_at=now,
        key=f"{DM_KIND}:{key}",
        now=now,
        payload=payload,
    )
