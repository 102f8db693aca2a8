"""`/maker`, its Home section, its digest figure and its calendar watch, in Slack."""

from datetime import timedelta

from slack_bolt import App
from slack_sdk.models.blocks import Block

from bot import maker
from bot.common.digest import DigestSectionBuilder
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers.blocks import context, header, section
from handlers.maker.calendar import (
    deliver_broken_feed,
    deliver_partly_read,
    deliver_poll,
    status_text,
)
from handlers.maker.commands import on_maker_command
from handlers.maker.delivery import deliver_conflict
from handlers.slack import in_time
from storage import maker as store
from storage.base import Workspace

__all__ = ["COMMAND", "DELIVERERS", "DIGEST_SECTIONS", "home_section", "register"]

COMMAND = "/maker"
HOME_TEAM_LIMIT = 3


def register(app: App) -> None:
    """Register the `/maker` command."""
    app.command(COMMAND)(in_time(on_maker_command))


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the person's teams' maker time now and kept this week, and their calendar."""
    now = services.now()
    blocks: list[Block] = [header("Maker time")]
    with services.session() as session:
        rows = store.schedules_of_member(session, workspace, user_id)[:HOME_TEAM_LIMIT]
        lines = []
        for row in rows:
            schedule = maker.schedule_of(row)
            state = maker.now_state(schedule, now)
            line = f"<#{row.channel_id}> · {_state_word(state)}"
            kept = maker.maker_time_kept(
                session, workspace, row.channel_id, now - timedelta(days=7), now
            )
            if kept is not None:
                line += f" · kept this week: *{kept.share:.0%}*"
            lines.append(line)
        status = maker.calendar_status(session, workspace, user_id)
    if not lines:
        lines.append(
            "No team schedule yet. A lead sets one with `/maker set …` in the team channel."
        )
    blocks.append(section("\n".join(lines)))
    blocks.append(context(status_text(status)))
    return blocks


def _state_word(state: maker.Now) -> str:
    return {"maker": "maker time now", "window": "meeting window now"}.get(
        state.state, "outside the working day"
    )


DELIVERERS: dict[str, Deliverer] = {
    maker.POLL_KIND: deliver_poll,
    maker.CONFLICT_KIND: deliver_conflict,
    maker.BROKEN_FEED_KIND: deliver_broken_feed,
    maker.PARTLY_READ_KIND: deliver_partly_read,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (maker.digest_section,)
