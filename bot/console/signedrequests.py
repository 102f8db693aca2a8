"""Requests Slack sends an app (commands, actions, shortcuts, submissions, events), signed."""

import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.console.calls import BOT_USER_ID


@dataclass(frozen=True)
class SignedRequest:
    """A request body with the headers Slack would sign it with."""

    body: str
    headers: dict[str, str]


class SlackRequests:
    """Build the requests Slack sends an app, signed with the app's signing secret."""

    def __init__(self, signing_secret: str, team_id: str = "T0LOCAL", enterprise_id: str = ""):
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self._triggers = itertools.count(1)

    def sign(self, body: str, content_type: str, timestamp: int | None = None) -> SignedRequest:
        """Sign a raw body the way Slack does (v0, HMAC-SHA256)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            self.signing_secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        return SignedRequest(
            body,
            {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": f"v0={digest}",
            },
        )

    def command(
        self, command: str, text: str, *, user_id: str, channel_id: str, response_url: str
    ) -> SignedRequest:
        """Return a signed slash command."""
        fields = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "focusbot-local",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else "ml-team",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "AFOCUSBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger(),
        }
        if self.enterprise_id:
            fields["enterprise_id"] = self.enterprise_id
        return self.sign(urlencode(fields), "application/x-www-form-urlencoded")

    def block_action(
        self,
        action: dict[str, Any],
        *,
        user_id: str,
        channel_id: str | None,
        response_url: str | None,
        container: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
    ) -> SignedRequest:
        """Return a signed click on a button (`action` as it stands in the blocks)."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "AFOCUSBOT",
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(),
            "team": {"id": self.team_id, "domain": "focusbot-local"},
            "enterprise": {"id": self.enterprise_id} if self.enterprise_id else None,
            "is_enterprise_install": False,
            "container": container or {"type": "message", "channel_id": channel_id},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": "ml-team"}
        if response_url is not None:
            payload["response_url"] = response_url
        if view is not None:
            payload["view"] = view
        return self._interactive(payload)

    def message_shortcut(
        self, callback_id: str, message: dict[str, Any], *, user_id: str, response_url: str
    ) -> SignedRequest:
        """Return a signed use of a message shortcut on a message."""
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self._trigger(),
            "response_url": response_url,
            "team": {"id": self.team_id, "domain": "focusbot-local"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "channel": {"id": message["channel"], "name": "ml-team"},
            "message": message,
            "message_ts": message["ts"],
            "token": "legacy-verification-token",
            "api_app_id": "AFOCUSBOT",
            "is_enterprise_install": False,
        }
        return self._interactive(payload)

    def view_submission(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str
    ) -> SignedRequest:
        """Return a signed modal submission with the given state values."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "focusbot-local"},
            "enterprise": {"id": self.enterprise_id} if self.enterprise_id else None,
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "AFOCUSBOT",
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(),
            "is_enterprise_install": False,
            "view": {
                "id": view.get("id", "V000001"),
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": view.get("callback_id", ""),
                "private_metadata": view.get("private_metadata", ""),
                "blocks": view.get("blocks", []),
                "state": {"values": values},
                "hash": "1.abc",
            },
        }
        return self._interactive(payload)

    def event(self, event: dict[str, Any], *, event_id: str = "Ev0001") -> SignedRequest:
        """Return a signed Events API envelope around an event."""
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "enterprise_id": self.enterprise_id or None,
            "api_app_id": "AFOCUSBOT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id or None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        return self.sign(json.dumps(envelope), "application/json")

    def _interactive(self, payload: dict[str, Any]) -> SignedRequest:
        return self.sign(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def _trigger(self) -> str:
        return f"{next(self._triggers)}.{uuid.uuid4().hex}"
