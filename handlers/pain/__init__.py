"""`/pain`, its buttons, the review modal, the message shortcut, the reaction and the digest."""

from slack_bolt import App

from bot import pain
from bot.common import digest
from bot.common.digest import DigestSectionBuilder
from bot.runtime.scheduler import Deliverer
from handlers import digest as digest_view
from handlers.pain.capture import (
    LOG_SHORTCUT,
    REACTION_CAPTURE_KIND,
    deliver_reaction_capture,
    on_log_shortcut,
    on_reaction_added,
)
from handlers.pain.commands import on_pain_command
from handlers.pain.delivery import deliver_dm
from handlers.pain.review import (
    NOTE_BLOCK,
    REVIEW_VIEW,
    STATUS_BLOCK,
    THEME_BLOCK,
    on_review_clicked,
    on_review_submitted,
    on_same_clicked,
    on_separate_clicked,
)
from handlers.pain.views import REVIEW_ACTION, SAME_ACTION, SEPARATE_ACTION, home_section

COMMAND = "/pain"


def register(app: App) -> None:
    """Register `/pain`, its buttons, the review modal, the shortcut and the reaction."""
    app.command(COMMAND)(on_pain_command)
    app.action(SAME_ACTION)(on_same_clicked)
    app.action(SEPARATE_ACTION)(on_separate_clicked)
    app.action(REVIEW_ACTION)(on_review_clicked)
    app.view(REVIEW_VIEW)(on_review_submitted)
    app.shortcut(LOG_SHORTCUT)(on_log_shortcut)
    app.event("reaction_added")(on_reaction_added)


DELIVERERS: dict[str, Deliverer] = {
    pain.DM_KIND: deliver_dm,
    REACTION_CAPTURE_KIND: deliver_reaction_capture,
    digest.DIGEST_KIND: digest_view.deliver_digest,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = pain.DIGEST_SECTIONS

__all__ = [
    "COMMAND",
    "DELIVERERS",
    "DIGEST_SECTIONS",
    "NOTE_BLOCK",
    "REVIEW_ACTION",
    "REVIEW_VIEW",
    "SAME_ACTION",
    "SEPARATE_ACTION",
    "STATUS_BLOCK",
    "THEME_BLOCK",
    "home_section",
    "register",
]
