"""`/pain`, its buttons, the review modal, the message shortcut, the reaction and the digest."""

from handlers.pain.commands import (
    COMMAND,
    DELIVERERS,
    DIGEST_SECTIONS,
    NOTE_BLOCK,
    REVIEW_ACTION,
    REVIEW_VIEW,
    SAME_ACTION,
    SEPARATE_ACTION,
    STATUS_BLOCK,
    THEME_BLOCK,
    home_section,
    register,
)

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
