"""`/focus`, its buttons, its Home section and its weekly check, in Slack."""

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from bot import focus
from bot.common.digest import DigestSectionBuilder
from bot.focus import UsageError
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers.blocks import MAX_VIEW_BLOCKS, context, header, section
from handlers.focus.across import home_across_section
from handlers.focus.actions import (
    ADD_OWNERS_BLOCK,
    ADD_TEXT_BLOCK,
    ADD_VIEW,
    on_add_clicked,
    on_add_submitted,
    on_done_clicked,
    on_drop_clicked,
)
from handlers.focus.commands import run, usage
from handlers.focus.delivery import deliver_across_post, deliver_checkin
from handlers.focus.views import ADD_ACTION, DONE_ACTION, DROP_ACTION, list_blocks
from handlers.slack import command_listener
from storage.base import Workspace

__all__ = [
    "ADD_ACTION",
    "ADD_OWNERS_BLOCK",
    "ADD_TEXT_BLOCK",
    "ADD_VIEW",
    "COMMAND",
    "DELIVERERS",
    "DIGEST_SECTIONS",
    "DONE_ACTION",
    "DROP_ACTION",
    "home_section",
    "register",
]

COMMAND = "/focus"
HOME_LIST_LIMIT = 5


def register(app: App) -> None:
    """Register the `/focus` command, its buttons and its modal."""
    app.command(COMMAND)(command_listener(focus.parse_command, usage, UsageError, run))
    app.action(DONE_ACTION)(on_done_clicked)
    app.action(DROP_ACTION)(on_drop_clicked)
    app.action(ADD_ACTION)(on_add_clicked)
    app.view(ADD_VIEW)(on_add_submitted)


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the focus lists the person takes part in, with buttons and an Add button."""
    now = services.now()
    blocks: list[Block] = [header("Focus")]
    with services.session() as session:
        lists = focus.lists_of_person(session, workspace, user_id)
        views = [focus.view_of(session, focus_list, now) for focus_list in lists[:HOME_LIST_LIMIT]]
    if not views:
        blocks.append(
            section(
                "You're on no focus list yet. "
                "Start one in a team channel with `/focus add &lt;text&gt;`."
            )
        )
    for view in views:
        blocks += list_blocks(view, now)
        if not view.is_full:
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Add", action_id=ADD_ACTION, value=str(view.focus_list.id)
                        )
                    ]
                )
            )
        blocks.append(DividerBlock())
    if len(lists) > HOME_LIST_LIMIT:
        blocks.append(
            context(
                f"…and {len(lists) - HOME_LIST_LIMIT} more lists. Use `/focus` in their channels."
            )
        )
    blocks += home_across_section(services, workspace, user_id, skip=[f.id or 0 for f in lists])
    return blocks[:MAX_VIEW_BLOCKS]


DELIVERERS: dict[str, Deliverer] = {
    focus.CHECKIN_KIND: deliver_checkin,
    focus.ACROSS_KIND: deliver_across_post,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (focus.digest_section,)
