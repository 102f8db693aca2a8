"""`/milestone`, its revisit reminders, buttons and modals, its Home section, in Slack."""

from slack_bolt import App

from bot import milestones
from bot.common.digest import DigestSectionBuilder
from bot.milestones import UsageError
from bot.runtime.scheduler import Deliverer
from handlers.milestones.actions import (
    on_approach_clicked,
    on_confidence_clicked,
    on_confidence_submitted,
    on_end_clicked,
    on_move_clicked,
    on_move_submitted,
)
from handlers.milestones.commands import run, usage
from handlers.milestones.delivery import deliver_checkin, deliver_revisit
from handlers.milestones.views import (
    ACHIEVED_ACTION,
    APPROACH_ACTION,
    CONFIDENCE_ACTION,
    CONFIDENCE_BLOCK,
    CONFIDENCE_VIEW,
    DATE_BLOCK,
    DROP_ACTION,
    MOVE_ACTION,
    MOVE_VIEW,
    ON_TRACK_ACTION,
    REASON_BLOCK,
    home_section,
)
from handlers.slack import command_listener

__all__ = [
    "ACHIEVED_ACTION",
    "APPROACH_ACTION",
    "COMMAND",
    "CONFIDENCE_ACTION",
    "CONFIDENCE_BLOCK",
    "CONFIDENCE_VIEW",
    "DATE_BLOCK",
    "DELIVERERS",
    "DIGEST_SECTIONS",
    "DROP_ACTION",
    "MOVE_ACTION",
    "MOVE_VIEW",
    "ON_TRACK_ACTION",
    "REASON_BLOCK",
    "home_section",
    "register",
]

COMMAND = "/milestone"


def register(app: App) -> None:
    """Register `/milestone`, the reminder's buttons and the modals behind them."""
    app.command(COMMAND)(command_listener(milestones.parse_command, usage, UsageError, run))
    app.action(ON_TRACK_ACTION)(on_confidence_clicked)
    app.action(CONFIDENCE_ACTION)(on_confidence_clicked)
    app.action(APPROACH_ACTION)(on_approach_clicked)
    app.action(MOVE_ACTION)(on_move_clicked)
    app.action(ACHIEVED_ACTION)(on_end_clicked)
    app.action(DROP_ACTION)(on_end_clicked)
    app.view(CONFIDENCE_VIEW)(on_confidence_submitted)
    app.view(MOVE_VIEW)(on_move_submitted)


DELIVERERS: dict[str, Deliverer] = {
    milestones.REVISIT_KIND: deliver_revisit,
    milestones.CHECKIN_KIND: deliver_checkin,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (milestones.batched_digest_section,)
