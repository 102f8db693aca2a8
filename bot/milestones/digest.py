"""The milestones' section of the digest: what is due for revisit and what changed."""

from datetime import date

from sqlmodel import Session

from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.common.recurrence import zone
from bot.milestones.board import format_date, target_status
from bot.milestones.revisits import due_for_revisit
from storage import milestones as store
from storage.milestones import ACHIEVED, DROPPED, OPEN, Milestone, MilestoneEvent


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
    if not lines:
        return None
    if board.vision:
        lines.insert(0, DigestLine(f"Vision: {board.vision}"))
    return DigestSection("Milestones", tuple(lines), order=30)


def _digest_line(event: MilestoneEvent, milestone: Milestone) -> str:
    name = f"#{milestone.number} {milestone.title}"
    if event.kind == "target":
        before = format_date(date.fromisoformat(event.before))
        after = format_date(date.fromisoformat(event.after))
        reason = f" ({event.reason})" if event.reason else ""
        return f"Target moved: {name} — {before} → {after}{reason}"
    if event.kind == "confidence":
        return f"Confidence: {name} — {event.before}% → {event.after}%"
    if event.kind == "created":
        target = date.fromisoformat(event.after) if event.after else milestone.target
        return f"New: {name} — target {format_date(target)}, {event.confidence}%"
    if event.kind in (ACHIEVED, DROPPED):
        return f"{event.kind.capitalize()}: {name}"
    return ""
