"""The pain point sections of the weekly digest, each read for many digests at once."""

from collections.abc import Sequence

from sqlmodel import Session

from bot.common.digest import (
    BatchedSection,
    DigestLine,
    DigestSection,
    DigestSectionBuilder,
    DigestWindow,
    places_of,
    span_of,
)
from bot.pain.commands import DEFAULT_TOP_WEEKS, STATUS_LABELS
from bot.pain.themes import titles_of_themes, top_themes_in_workspaces
from storage import pain as store
from storage import pain_digest as batch
from storage.base import Workspace


def _read_new_points(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Read the pain points the digests' channels logged in their weeks."""
    points = batch.points_in_channels(session, places_of(windows), *span_of(windows))

    def new_points_section(_session: Session, window: DigestWindow) -> DigestSection:
        lines = tuple(
            DigestLine(f"#{point.number} {point.text}", (point.reporter_id,))
            for point in points
            if _in_channel(point.enterprise_id, point.team_id, point.channel_id, window)
            and window.start <= point.created_at < window.end
        )
        return DigestSection("New pain points", lines, order=20)

    return new_points_section


def _read_top_themes(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Rank the themes of the digests' workspaces as of each week's end, all at once."""
    ranked = top_themes_in_workspaces(
        session, {(window.workspace, window.end) for window in windows}, DEFAULT_TOP_WEEKS, limit=5
    )

    def top_themes_section(_session: Session, window: DigestWindow) -> DigestSection:
        lines = tuple(
            DigestLine(
                f"{demand.title} — {demand.people} {_people_word(demand.people)}, {demand.trend}"
                f" ({STATUS_LABELS[demand.theme.status]})"
            )
            for demand in ranked[(window.workspace, window.end)]
        )
        return DigestSection(f"Top themes, last {DEFAULT_TOP_WEEKS} weeks", lines, order=30)

    return top_themes_section


def _read_crossed(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Read the themes of the digests' workspaces that reached the demand threshold."""
    crossed = batch.crossed_in_workspaces(
        session, {window.workspace for window in windows}, *span_of(windows)
    )
    titles = titles_of_themes(session, crossed)
    people = store.reporters_of_themes(session, list(titles))

    def crossed_section(_session: Session, window: DigestWindow) -> DigestSection:
        lines = tuple(
            DigestLine(titles[theme.id], tuple(people[theme.id]))
            for theme in crossed
            if theme.id in titles
            and _in_workspace(theme.enterprise_id, theme.team_id, window)
            and theme.crossed_at is not None
            and window.start <= theme.crossed_at < window.end
        )
        return DigestSection("Themes that crossed the demand threshold", lines, order=40)

    return crossed_section


def _read_status_changes(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Read the status changes leads made in the digests' workspaces."""
    changes = batch.status_changes_in_workspaces(
        session, {window.workspace for window in windows}, *span_of(windows)
    )
    titles = titles_of_themes(session, [theme for _, theme in changes])

    def status_section(_session: Session, window: DigestWindow) -> DigestSection:
        lines = tuple(
            DigestLine(
                f"{titles[theme.id]} → {STATUS_LABELS[change.status]}"
                + (f": {change.note}" if change.note else ""),
                (change.actor_id,),
            )
            for change, theme in changes
            if theme.id in titles
            and _in_workspace(theme.enterprise_id, theme.team_id, window)
            and window.start <= change.at < window.end
        )
        return DigestSection("Status changes", lines, order=50)

    return status_section


def _in_workspace(enterprise_id: str, team_id: str, window: DigestWindow) -> bool:
    return Workspace(team_id, enterprise_id) == window.workspace


def _in_channel(enterprise_id: str, team_id: str, channel_id: str, window: DigestWindow) -> bool:
    return _in_workspace(enterprise_id, team_id, window) and channel_id == window.channel_id


def _people_word(count: int) -> str:
    return "person" if count == 1 else "people"


new_points_section = BatchedSection(_read_new_points)
top_themes_section = BatchedSection(_read_top_themes)
crossed_section = BatchedSection(_read_crossed)
status_section = BatchedSection(_read_status_changes)

DIGEST_SECTIONS = (new_points_section, top_themes_section, crossed_section, status_section)
