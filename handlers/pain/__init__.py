"""`/pain`, its buttons, the review modal, the message shortcut, the reaction and the digest."""

import logging
import threading

from slack_bolt import App

from bot import pain
from bot.common import digest
from bot.common.digest import DigestSectionBuilder
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
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
from handlers.slack import in_time

COMMAND = "/pain"
log = logging.getLogger(__name__)


def register(app: App) -> None:
    """Register `/pain`, its buttons, the review modal, the shortcut and the reaction."""
    app.command(COMMAND)(in_time(on_pain_command))
    app.action(SAME_ACTION)(on_same_clicked)
    app.action(SEPARATE_ACTION)(on_separate_clicked)
    app.action(REVIEW_ACTION)(on_review_clicked)
    app.view(REVIEW_VIEW)(on_review_submitted)
    app.shortcut(LOG_SHORTCUT)(on_log_shortcut)
    app.event("reaction_added")(on_reaction_added)


def warm_up(services: Services) -> None:
    """Load the pain point indexes in the background at start, so the first /pain is quick."""

    def load() -> None:
        try:
            pain.warm_up(services.engine, services.pain_matcher)
        except Exception:  # the first /pain then loads what it needs itself
            log.exception("warming the pain point indexes failed")

    threading.Thread(target=load, name="focusbot-pain-warm-up", daemon=True).start()


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
    "warm_up",
]
