"""Log pain points (numbered, grouped with the theme of the same complaint), find and list them."""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.pain.commands import PainError
from bot.pain.embedding import Matcher
from bot.pain.similar import (
    Search,
    Similar,
    caught_up,
    found_by,
    joined_theme,
    search,
    synced_index,
)
from bot.pain.themes import check_threshold, theme_title
from storage import pain as store
from storage import pain_matching
from storage.base import Workspace
from storage.pain import PainPoint, PainReport, PainTheme


@dataclass(frozen=True)
class Logged:
    """A pain point just logged: where it went, what looks like it, and who to tell."""

    point: PainPoint
    theme: PainTheme
    grouped: bool
    similar: tuple[Similar, ...]
    already_logged: bool = False


def search_pain(
    sessions: Callable[[], AbstractContextManager[Session]],
    workspace: Workspace,
    text: str,
    matcher: Matcher,
) -> Search:
    """Score a complaint against the workspace's pain points, in a transaction only to sync."""
    # Embedded and scored outside any transaction: SQLite lets one session of the process at a
    # time in, and PostgreSQL connections are few.
    vector = _embedded(matcher, text)
    with sessions() as session:
        index = synced_index(session, workspace, matcher)
    return search(index, text, vector)


def log_pain(
    session: Session,
    workspace: Workspace,
    reporter: str,
    channel_id: str,
    text: str,
    now: datetime,
    *,
    source: str = "command",
    logged_by: str | None = None,
    permalink: str | None = None,
    message_ts: str | None = None,
    matcher: Matcher | None = None,
    searched: Search | None = None,
) -> Logged:
    """Log a pain point: number it, group it with its theme, count its reporter."""
    matcher = matcher or Matcher()
    if searched is None:
        index = synced_index(session, workspace, matcher)
        searched = search(index, text, _embedded(matcher, text))
    # Matched before the workspace is locked: other loggers wait only for the writes, and for
    # the few pain points logged since the search, matched again here.
    found = found_by(session, searched)
    threshold = store.lock_workspace(session, workspace)
    if message_ts is not None:
        existing = store.find_by_message(session, workspace, channel_id, message_ts)
        if existing is not None:
            return Logged(existing, theme_of(session, existing), False, (), already_logged=True)
    found = caught_up(session, workspace, found)
    # The theme as it is now, not as it was when matched: merged, or just past the threshold.
    theme = joined_theme(session, found) or new_theme(session, workspace, now)
    point = _insert_point(
        session,
        PainPoint(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            number=0,
            text=text,
            reporter_id=reporter,
            logged_by=logged_by or reporter,
            channel_id=channel_id,
            created_at=now,
            theme_id=theme.id or 0,
            source=source,
            permalink=permalink,
            message_ts=message_ts,
        ),
        workspace,
    )
    vector = searched.vector
    if vector is not None and matcher.model is not None:
        pain_matching.save_vector(session, point.id or 0, matcher.model, vector.tobytes())
    # A pain point just made has no reports yet: its reporter needs no check for a duplicate.
    session.add(_report(workspace, point, reporter, now))
    # A new theme has one person, its reporter: too few for any threshold above one.
    if found.group is not None or threshold.people <= 1:
        check_threshold(session, workspace, theme, now, threshold)
    return Logged(point, theme, found.group is not None, tuple(found.similar))


def _embedded(matcher: Matcher, text: str) -> np.ndarray | None:
    embedded = matcher.embed([text])
    return embedded[0] if embedded is not None else None


def new_theme(session: Session, workspace: Workspace, now: datetime) -> PainTheme:
    """Start an empty theme in the workspace."""
    theme = PainTheme(
        enterprise_id=workspace.enterprise_id, team_id=workspace.team_id, created_at=now
    )
    session.add(theme)
    session.flush()
    return theme


def _insert_point(session: Session, point: PainPoint, workspace: Workspace) -> PainPoint:
    # Only here are pain points made, with the workspace locked: the next number is free.
    point.number = store.last_number(session, workspace) + 1
    session.add(point)
    session.flush()
    return point


def add_report(
    session: Session, workspace: Workspace, point: PainPoint, user_id: str, now: datetime
) -> bool:
    """Count the person on a pain point; return whether they were new to it."""
    assert point.id is not None
    if store.has_report(session, point.id, user_id):
        return False
    try:
        with session.begin_nested():
            session.add(_report(workspace, point, user_id, now))
    except IntegrityError:
        return False  # the same person, a moment ago
    return True


def _report(workspace: Workspace, point: PainPoint, user_id: str, now: datetime) -> PainReport:
    assert point.id is not None
    return PainReport(
        enterprise_id=workspace.enterprise_id,
        team_id=workspace.team_id,
        pain_id=point.id,
        user_id=user_id,
        at=now,
    )


def point_numbered(session: Session, workspace: Workspace, number: int) -> PainPoint:
    """Return pain point n; refuse a number the workspace does not have."""
    point = store.find_point(session, workspace, number)
    if point is None:
        last = store.last_number(session, workspace)
        if last == 0:
            raise PainError(f"There is no pain point {number}: none has been logged yet.")
        raise PainError(f"There is no pain point {number}: numbers go from 1 to {last}.")
    return point


def point_by_id(session: Session, workspace: Workspace, point_id: int) -> PainPoint:
    """Return a pain point by id for a button; refuse one from elsewhere."""
    point = session.get(PainPoint, point_id)
    if point is None or (point.team_id, point.enterprise_id) != (
        workspace.team_id,
        workspace.enterprise_id,
    ):
        raise PainError("That pain point is not in this workspace.")
    return point


def me_too(
    session: Session, workspace: Workspace, user_id: str, number: int, now: datetime
) -> tuple[PainPoint, bool]:
    """Count the person as hitting pain point n; return it and whether they were new to it."""
    store.lock_workspace(session, workspace)
    point = point_numbered(session, workspace, number)
    added = add_report(session, workspace, point, user_id, now)
    if added:
        check_threshold(session, workspace, theme_of(session, point), now)
    return point, added


def theme_of(session: Session, point: PainPoint) -> PainTheme:
    """Return the theme a pain point belongs to."""
    theme = session.get(PainTheme, point.theme_id)
    assert theme is not None
    return theme


@dataclass(frozen=True)
class PointView:
    """A pain point with its theme and the people who hit it."""

    point: PainPoint
    theme: PainTheme
    theme_title: str
    people: tuple[str, ...]
    theme_people: int


def view_point(session: Session, workspace: Workspace, number: int) -> PointView:
    """Return pain point n as people see it."""
    point = point_numbered(session, workspace, number)
    theme = theme_of(session, point)
    assert point.id is not None and theme.id is not None
    people = store.reporters_of_points(session, [point.id])[point.id]
    return PointView(
        point,
        theme,
        theme_title(session, theme),
        tuple(people),
        len(store.reporters_of_theme(session, theme.id)),
    )


def list_points(
    session: Session, workspace: Workspace, statuses: Sequence[str], limit: int
) -> tuple[list[PointView], int]:
    """Return the newest pain points whose theme has one of the statuses, and how many match."""
    points, total = store.list_points(session, workspace, statuses, limit)
    themes = store.themes_by_id(session, [point.theme_id for point in points])
    people = store.reporters_of_points(session, [point.id or 0 for point in points])
    return [
        PointView(point, themes[point.theme_id], "", tuple(people[point.id or 0]), 0)
        for point in points
    ], total
