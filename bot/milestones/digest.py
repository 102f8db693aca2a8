"""The milestones' digest section: what is due, what changed, what was tried, the forecast."""

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session

from bot.common.dates import day_text
from bot.common.digest import (
    BatchedSection,
    DigestLine,
    DigestSection,
    DigestSectionBuilder,
    DigestWindow,
    places_of,
)
from bot.common.recurrence import zone
from bot.milestones.approaches import describe_tried
from bot.milestones.board import target_status
from bot.milestones.forecast import forecast
from bot.milestones.revisits import due_for_revisit
from storage import milestones as store
from storage.milestones import ACHIEVED, DROPPED, OPEN, Milestone, MilestoneBoard, MilestoneEvent

FORECAST_MOVE = 10  # points the forecast must move before the digest shows it again


def digest_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the milestones' week: what is due for revisit, target moves and confidence changes."""
    board = store.find_board(session, window.workspace, window.channel_id)
    if board is None or board.id is None:
        return None
    today = window.end.astimezone(zone(board.timezone)).date()
    lines = [
        DigestLine(f"Due for revisit: #{m.number} {m.title} — {target_status(m, today)}")
        for m in store.milestones_of(session, board.id, states=(OPEN,))
        if due_for_revisit(m, today)
    ]
    for event, milestone in store.board_events_between(session, board.id, window.start, window.end):
        line = _digest_line(event, milestone)
        if line:
            lines.append(DigestLine(line, (event.actor_id,)))
    for tried, milestone in store.tried_between(session, board.id, window.start, window.end):
        lines.append(
            DigestLine(
                f"Tried on #{milestone.number} {milestone.title}: {describe_tried(tried)}",
                (tried.actor_id,),
            )
        )
    moved = _forecast_line(session, board)
    if moved:
        lines.append(DigestLine(moved))
    if not lines:
        return None
    if board.vision:
        lines.insert(0, DigestLine(f"Vision: {board.vision}"))
    return DigestSection("Milestones", tuple(lines), order=30)


def _digest_line(event: MilestoneEvent, milestone: Milestone) -> str:
    name = f"#{milestone.number} {milestone.title}"
    if event.kind == "target":
        before = day_text(date.fromisoformat(event.before))
        after = day_text(date.fromisoformat(event.after))
        reason = f" ({event.reason})" if event.reason else ""
        return f"Target moved: {name} — {before} → {after}{reason}"
    if event.kind == "confidence":
        return f"Confidence: {name} — {event.before}% → {event.after}%"
    if event.kind == "created":
        target = date.fromisoformat(event.after) if event.after else milestone.target
        return f"New: {name} — target {day_text(target)}, {event.confidence}%"
    if event.kind in (ACHIEVED, DROPPED):
        return f"{event.kind.capitalize()}: {name}"
    return ""


def _forecast_line(session: Session, board: MilestoneBoard) -> str:
    """Say the forecast when it moved more than FORECAST_MOVE points since the digest showed it."""
    outlook = forecast(session, board)
    if outlook is None:
        return ""
    shown = board.forecast_shown
    if shown is not None and abs(outlook.figure - shown) <= FORECAST_MOVE:
        return ""
    board.forecast_shown = outlook.figure
    session.add(board)
    was = f" (was {shown}%)" if shown is not None else ""
    which = "every required milestone" if outlook.required_marked else "every open milestone"
    return (
        f"Forecast: {outlook.figure}%{was} chance that {which} lands by "
        f"{day_text(outlook.vision_date)}; about {outlook.stated.expected:.1f} of "
        f"{len(outlook.plan)} expected to land by then"
    )


def _read_boards(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Find which of the digests' channels keep a board, in one query: only those read more."""
    boards = store.boards_in(session, places_of(windows))

    def section_if_board(session: Session, window: DigestWindow) -> DigestSection | None:
        if (window.workspace, window.channel_id) not in boards:
            return None
        return digest_section(session, window)

    return section_if_board


# A board's section writes (the forecast it showed) as its digest goes out, so only the
# question of which channels have a board is read ahead.
batched_digest_section = BatchedSection(_read_boards)
