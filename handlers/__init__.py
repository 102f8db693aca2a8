"""Slack-facing rooms, one per feature: each registers its listeners and renders its blocks."""

from typing import Protocol

from slack_bolt import App
from slack_sdk.models.blocks import Block

from bot.common.digest import DigestSectionBuilder
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers import focus, maker, milestones, pain
from storage.base import Workspace


class Feature(Protocol):
    """What a feature's handlers module offers the app factory."""

    COMMAND: str
    DELIVERERS: dict[str, Deliverer]
    DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...]

    def register(self, app: App) -> None:
        """Register the feature's listeners."""

    def home_section(self, services: Services, workspace: Workspace, user_id: str) -> list[Block]:
        """Render the feature's part of a person's Home tab."""


FEATURES: tuple[Feature, ...] = (focus, milestones, maker, pain)
