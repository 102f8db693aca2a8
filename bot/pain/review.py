"""Regroup pain points by hand, and let the leads set a theme's status with a note."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common.leads import require_lead
from bot.pain.commands import DEFAULT_TOP_WEEKS, STATUS_LABELS, PainError
from bot.pain.demand import demand_in
from bot.pain.points import add_report, new_theme, point_by_id, point_numbered, theme_of
from bot.pain.themes import ThemeDemand, check_threshold, describe_themes, schedule_dm
from storage import pain as store
from storage import pain_matching as labels
from storage.base import Workspace
from storage.pain import STATUSES, PainPoint, PainStatusChange, PainTheme

MAX_NOTE_LENGTH = 500
# A split or "Keep separate" labels the pain point apart from at most this many others.
MAX_LABELS_AT_ONCE = 50


def same_problem(
    session: Session, workspace: Workspace, actor: str, new_id: int, match_id: int, now: datetime
) -> tuple[PainPoint, PainPoint]:
    """Put a new pain point into the theme of the one it repeats, and count the actor there."""
    new, match = point_by_id(session, workspace, new_id), point_by_id(session, workspace, match_id)
    _require_reporter_or_lead(session, workspace, actor, new)
    new.theme_id = match.theme_id
    session.add(new)
    store.note_regrouped(session, workspace)
    labels.add_labels(session, workspace, [(new.id or 0, match.id or 0)], True, actor, now)
    add_report(session, workspace, match, actor, now)
    check_threshold(session, workspace, theme_of(session, match), now)
    return new, match


def keep_separate(
    session: Session,
    workspace: Workspace,
    actor: str,
    point_id: int,
    now: datetime,
    shown_ids: Sequence[int] = (),
) -> PainPoint:
    """Take a new pain point out of the theme it was grouped into; it is none of those shown."""
    point = point_by_id(session, workspace, point_id)
    _require_reporter_or_lead(session, workspace, actor, point)
    others = [other.id or 0 for other in store.points_of_theme(session, point.theme_id)]
    others += [point_by_id(session, workspace, shown).id or 0 for shown in shown_ids]
    _label_apart(session, workspace, point, others, actor, now)
    _move_to_own_theme(session, workspace, point, now)
    return point


def _label_apart(
    session: Session,
    workspace: Workspace,
    point: PainPoint,
    others: Sequence[int],
    actor: str,
    now: datetime,
) -> None:
    apart = sorted(set(others) - {point.id or 0}, reverse=True)[:MAX_LABELS_AT_ONCE]
    labels.add_labels(
        session, workspace, [(point.id or 0, other) for other in apart], False, actor, now
    )


def _require_reporter_or_lead(
    session: Session, workspace: Workspace, actor: str, point: PainPoint
) -> None:
    if actor not in (point.reporter_id, point.logged_by):
        require_lead(session, workspace, actor)


def _move_to_own_theme(
    session: Session, workspace: Workspace, point: PainPoint, now: datetime
) -> bool:
    if store.theme_sizes(session, [point.theme_id]).get(point.theme_id, 0) <= 1:
        return False
    point.theme_id = new_theme(session, workspace, now).id or 0
    session.add(point)
    store.note_regrouped(session, workspace)
    return True


def merge(
    session: Session, workspace: Workspace, actor: str, number: int, into: int, now: datetime
) -> tuple[PainTheme, int]:
    """Move n's whole theme into the theme of pain point `into`; return it and how many moved."""
    require_lead(session, workspace, actor)
    source, target = (
        point_numbered(session, workspace, number),
        point_numbered(session, workspace, into),
    )
    if source.theme_id == target.theme_id:
        raise PainError(f"Pain points {number} and {into} are already in the same theme.")
    moved = store.points_of_theme(session, source.theme_id)
    labels.add_labels(session, workspace, [(source.id or 0, target.id or 0)], True, actor, now)
    for point in moved:
        point.theme_id = target.theme_id
        session.add(point)
    store.note_regrouped(session, workspace)
    theme = theme_of(session, target)
    check_threshold(session, workspace, theme, now)
    return theme, len(moved)


def split(
    session: Session, workspace: Workspace, actor: str, number: int, now: datetime
) -> PainPoint:
    """Take pain point n out of its theme into a theme of its own."""
    require_lead(session, workspace, actor)
    point = point_numbered(session, workspace, number)
    others = [other.id or 0 for other in store.points_of_theme(session, point.theme_id)]
    if not _move_to_own_theme(session, workspace, point, now):
        raise PainError(f"Pain point {number} is already a theme of its own.")
    _label_apart(session, workspace, point, others, actor, now)
    return point


def name_theme(
    session: Session, workspace: Workspace, actor: str, number: int, name: str
) -> PainTheme:
    """Name the theme of pain point n."""
    require_lead(session, workspace, actor)
    theme = theme_of(session, point_numbered(session, workspace, number))
    theme.name = name
    session.add(theme)
    return theme


def set_status(
    session: Session,
    workspace: Workspace,
    actor: str,
    theme_id: int,
    status: str,
    note: str,
    now: datetime,
) -> tuple[PainTheme, list[str]]:
    """Set a theme's status and note; everyone who reported it hears of it. Return them."""
    require_lead(session, workspace, actor)
    if status not in STATUSES:
        raise PainError("Pick one of the statuses.")
    if len(note) > MAX_NOTE_LENGTH:
        raise PainError(f"Keep the note to {MAX_NOTE_LENGTH} characters.")
    theme = store.get_theme(session, workspace, theme_id)
    if theme is None or theme.id is None:
        raise PainError("That theme is not in this workspace any more.")
    if theme.status == status and theme.note == note:
        raise PainError(f"The theme is already {STATUS_LABELS[status]} with that note.")
    theme.status, theme.note = status, note
    session.add(theme)
    change = PainStatusChange(theme_id=theme.id, status=status, note=note, actor_id=actor, at=now)
    session.add(change)
    session.flush()
    people = store.reporters_of_theme(session, theme.id)
    for user_id in people:
        schedule_dm(
            session,
            workspace,
            user_id,
            f"status:{change.id}:{user_id}",
            {"about": "status", "change_id": change.id},
            now,
        )
    return theme, people


def themes_for_review(
    session: Session, workspace: Workspace, now: datetime, limit: int
) -> list[ThemeDemand]:
    """Return the themes a lead reviews: the most demanded lately first, then the rest."""
    window = timedelta(weeks=DEFAULT_TOP_WEEKS)
    demand = demand_in(
        session,
        workspace,
        [(now - window, now + timedelta(seconds=1)), (now - 2 * window, now - window)],
    )
    everything = store.theme_ids_of(session, workspace)
    current, previous = (window_demand.of(everything) for window_demand in demand)
    ranked = sorted(everything, key=lambda theme_id: (-current[theme_id], -theme_id))
    return describe_themes(session, ranked[:limit], current, previous)
