"""Installs and uninstalls: when focusbot leaves a workspace, its tokens and pending posts go."""

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.listener.builtins import TokenRevocationListeners

from bot.common import outbox
from handlers.slack import services_of, workspace_of

log = logging.getLogger(__name__)


def register(app: App) -> None:
    """Clean up after an uninstall or a revoked token."""
    revocations = (
        TokenRevocationListeners(app.installation_store)
        if app.installation_store is not None
        else None
    )

    def on_app_uninstalled(body: dict[str, Any], context: BoltContext) -> None:
        """Forget the workspace's installation and cancel its pending posts."""
        if revocations is not None:
            revocations.handle_app_uninstalled_events(context)
        _cancel_pending(body, context)

    def on_tokens_revoked(
        event: dict[str, Any], body: dict[str, Any], context: BoltContext
    ) -> None:
        """Forget revoked tokens; without a bot token, cancel the pending posts."""
        if revocations is not None:
            revocations.handle_tokens_revoked_events(event, context)
        if (event.get("tokens") or {}).get("bot"):
            _cancel_pending(body, context)

    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def _cancel_pending(body: dict[str, Any], context: BoltContext) -> None:
    services = services_of(context)
    workspace = workspace_of(body, context)
    with services.session() as session:
        cancelled = outbox.cancel_workspace(session, workspace)
    log.info("focusbot left workspace %s; cancelled %d pending posts", workspace.team_id, cancelled)
