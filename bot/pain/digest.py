"""The pain point sections of the weekly digest."""

from sqlmodel import Session

from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.pain.commands import DEFAULT_TOP_WEEKS, STATUS_LABELS
from bot.pain.themes import titles_of_themes, top_themes
from storage import pain as store


def new_points_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the pain points the channel logged this week."""
    points = store.points_between(
        session, window.workspace, window.channel_id, window.start, window.end
    )
    lines = tuple(
        DigestLine(f"#{point.number} {point.text}", (point.reporter_id,)) for point in points
    )
    return DigestSection("New pain points", lines, order=20)


def top_themes_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the themes most people hit over the last weeks, with their trend."""
    themes, _count = top_themes(session, window.workspace, DEFAULT_TOP_WEEKS, window.end, limit=5)
    lines = tuple(
        DigestLine(
            f"{demand.title} — {demand.people} {_people_word(demand.people)}, {demand.trend}"
            f" ({STATUS_LABELS[demand.theme.status]})"
        )
        for demand in themes
    )
    return DigestSection(f"Top themes, last {DEFAULT_TOP_WEEKS} weeks", lines, order=30)


def crossed_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the themes that reached the demand threshold this week."""
    crossed = store.crossed_between(session, window.workspace, window.start, window.end)
    titles = titles_of_themes(session, crossed)
    people = store.reporters_of_themes(session, list(titles))
    lines = tuple(
        DigestLine(titles[theme.id], tuple(people[theme.id]))
        for theme in crossed
        if theme.id in titles
    )
    return DigestSection("Themes that crossed the demand threshold", lines, order=40)


def status_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the status changes leads made this week."""
    changes = store.status_changes_between(session, window.workspace, window.start, window.end)
    titles = titles_of_themes(session, [theme for _, theme in changes])
    lines = tuple(
        DigestLine(
            f"{titles[theme.id]} → {STATUS_LABELS[change.status]}"
            + (f": {change.note}" if change.note else ""),
            (change.actor_id,),
        )
        for change, theme in changes
        if theme.id in titles
    )
    return DigestSection("Status changes", lines, order=50)


def _people_word(count: int) -> str:
    return "person" if count == 1 else "people"


DIGEST_SECTIONS = (new_points_section, top_themes_section, crossed_section, status_section)
