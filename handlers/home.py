"""The App Home tab: every feature contributes its own section."""

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.runtime.services import Services
from handlers.blocks import MAX_VIEW_BLOCKS, fit
from handlers.slack import services_of, workspace_of
from storage.base import Workspace

log = logging.getLogger(__name__)


def register(app: App) -> None:
    """Publish the Home tab whenever someone opens it."""
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Render the Home tab for the person who opened it."""
    if event.get("tab", "home") != "home":
        return
    publish(client, services_of(context), workspace_of(body, context), event["user"])


def publish(client: WebClient, services: Services, workspace: Workspace, user_id: str) -> None:
    """Render every feature's section and publish them as the person's Home tab."""
    blocks: list[Block] = []
    for home_section in services.home_sections:
        blocks += home_section(services, workspace, user_id)
    view = View(type="home", blocks=fit(blocks, MAX_VIEW_BLOCKS))
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("views.publish failed: %s", error.response.get("error"))
