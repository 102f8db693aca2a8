"""Post revisit reminders and confidence check-ins when they fall due."""

from slack_sdk import WebClient
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from sqlmodel import Session

from bot import milestones
from bot.common.outbox import payload_of
from bot.runtime.services import Services
from handlers.blocks import escape, fallback, header, section
from handlers.milestones.views import CONFIDENCE_ACTION, milestone_lines, reminder_blocks
from handlers.slack import int_value
from storage import milestones as store
from storage.base import Workspace
from storage.milestones import OPEN
from storage.schedule import ScheduledPost


def deliver_revisit(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Post a revisit reminder with its buttons, then schedule the repeat or the next revisit."""
    now = services.now()
    payload = payload_of(post)
    milestone = store.get_milestone(
        session,
        Workspace(post.team_id, post.enterprise_id),
        int_value(payload.get("milestone_id")) or 0,
    )
    if milestone is None or not milestones.is_current_reminder(milestone, payload):
        return
    board = store.board_of(session, milestone)
    attempt = 2 if payload.get("attempt") == 2 else 1
    today = milestones.local_today(board, now)
    why = "target" if milestone.target <= today else str(payload.get("why") or "cadence")
    approaches = milestones.approaches(session, milestone)
    blocks = reminder_blocks(milestone, board, why, attempt, today, approaches)
    client.chat_postMessage(
        channel=board.channel_id,
        text=fallback(f"Time to revisit milestone #{milestone.number}: {escape(milestone.title)}"),
        blocks=[block.to_dict() for block in blocks],
    )
    milestones.reminder_posted(session, milestone, payload, post.due_at, now)


def deliver_checkin(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Ask for the current confidence of each open milestone, then schedule the next check-in."""
    now = services.now()
    board = store.get_board(
        session,
        Workspace(post.team_id, post.enterprise_id),
        int_value(payload_of(post).get("board_id")) or 0,
    )
    if board is None or board.id is None or board.checkin_weeks is None:
        return
    open_ones = store.milestones_of(session, board.id, states=(OPEN,))
    if open_ones:
        today = milestones.local_today(board, now)
        blocks: list[Block] = [header("Milestone check-in: how likely now?")]
        asked = open_ones[:20]
        for milestone, line in zip(
            asked, milestone_lines(session, board, asked, today), strict=True
        ):
            blocks.append(section(line))
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Update confidence",
                            action_id=CONFIDENCE_ACTION,
                            value=str(milestone.id),
                        )
                    ]
                )
            )
        client.chat_postMessage(
            channel=board.channel_id,
            text="Milestone check-in: how likely is each milestone to work out now?",
            blocks=[block.to_dict() for block in blocks],
        )
    milestones.schedule_checkin(session, board, now)
