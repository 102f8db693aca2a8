"""Post the weekly focus check in the list's channel."""

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot import focus
from bot.common.outbox import payload_of
from bot.focus import ListView
from bot.runtime.services import Services
from handlers.blocks import as_dicts, escape, fit, header, section
from handlers.focus.views import list_blocks, summary
from handlers.slack import int_value
from storage import focus as store
from storage.base import Workspace
from storage.schedule import ScheduledPost


def deliver_checkin(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Post the weekly focus check and schedule the next one."""
    now = services.now()
    workspace = Workspace(post.team_id, post.enterprise_id)
    list_id = int_value(payload_of(post).get("list_id")) or 0
    focus_list = store.get_list(session, workspace, list_id)
    if focus_list is None or focus_list.checkin_weekday is None:
        return
    view = focus.view_of(session, focus_list, now)
    client.chat_postMessage(
        channel=focus_list.channel_id,
        text=f"Weekly focus check. {summary(view)}",
        blocks=as_dicts(fit(checkin_blocks(view, now))),
    )
    focus.schedule_next_checkin(session, focus_list, now)


def checkin_blocks(view: ListView, now: datetime) -> list[Block]:
    """Render the weekly focus check: stalled items first, then the list."""
    blocks: list[Block] = [header("Weekly focus check")]
    if view.stalled:
        weeks = view.focus_list.stall_weeks
        names = "\n".join(
            f"• *{item.number}.* {escape(item.text)} — in focus {focus.in_focus_for(item.in_focus)}"
            for item in view.stalled
        )
        blocks.append(
            section(
                f":hourglass: *Worth talking about:* in focus longer than {weeks} weeks\n{names}"
            )
        )
    return blocks + list_blocks(view, now)
