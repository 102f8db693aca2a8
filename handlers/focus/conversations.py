"""Ask Slack who may see a conversation's list, and remember the answer for a few minutes."""

import logging
from collections.abc import Callable
from datetime import timedelta
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.web import SlackResponse

from bot.runtime.services import Services
from storage.base import Workspace

log = logging.getLogger(__name__)

# Long enough for one screen of lists, short enough that leaving a channel soon counts.
KEEP_PRIVACY = timedelta(minutes=10)
KEEP_MEMBERS = timedelta(minutes=2)
MEMBERS_PAGE = 1000
MAX_MEMBER_PAGES = 20
CHANNELS_PAGE = 1000
MAX_CHANNEL_PAGES = 10


class SlackConversations:
    """What Slack says about a workspace's conversations; None when Slack cannot tell."""

    def __init__(self, services: Services, client: WebClient | None, workspace: Workspace):
        self.services = services
        self.client = client
        self.workspace = workspace

    def is_private(self, channel_id: str) -> bool | None:
        """Tell whether the conversation is a private channel, a DM or a group DM."""
        private = self._remembered_privacy(channel_id)
        if private is None and not channel_id.startswith("D"):
            self._read_directory()
            private = self._remembered_privacy(channel_id)
        if private is not None:
            return private
        info = self._ask(lambda client: client.conversations_info(channel=channel_id), channel_id)
        if info is None:
            return None
        channel = info.get("channel") or {}
        private = any(channel.get(flag) for flag in ("is_private", "is_im", "is_mpim"))
        self._remember_privacy(channel_id, private)
        return private

    def members(self, channel_id: str) -> frozenset[str] | None:
        """Return the people in the conversation."""
        key = ("focus.members", self.workspace, channel_id)
        cached = self.services.cache.get(key, self.services.now())
        if cached is not None:
            return frozenset(cached)
        members: set[str] = set()
        cursor = ""
        for _ in range(MAX_MEMBER_PAGES):
            page = self._ask(_members_page(channel_id, cursor), channel_id)
            if page is None:
                return None
            members.update(str(member) for member in page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                found = frozenset(members)
                self.services.cache.put(key, found, self.services.now(), KEEP_MEMBERS)
                return found
        return None  # too many members to read now: cannot tell

    def is_guest(self, user_id: str) -> bool | None:
        """Tell whether a person is a guest of the workspace, who sees only their channels."""
        key = ("focus.guest", self.workspace, user_id)
        cached = self.services.cache.get(key, self.services.now())
        if cached is not None:
            return bool(cached)
        answer = self._ask(lambda client: client.users_info(user=user_id), user_id)
        if answer is None:
            return None
        user = answer.get("user") or {}
        guest = bool(user.get("is_restricted") or user.get("is_ultra_restricted"))
        self.services.cache.put(key, guest, self.services.now(), KEEP_PRIVACY)
        return guest

    def _read_directory(self) -> None:
        # One conversations.list page tells the privacy of up to a thousand channels, where
        # conversations.info tells one: a long `/focus all` still answers within Slack's 3 s.
        key = ("focus.directory", self.workspace)
        if self.services.cache.get(key, self.services.now()) is not None:
            return
        self.services.cache.put(key, True, self.services.now(), KEEP_PRIVACY)
        cursor = ""
        for _ in range(MAX_CHANNEL_PAGES):
            page = self._ask(_channels_page(cursor), "the channel list")
            if page is None:
                return
            for channel in page.get("channels") or []:
                self._remember_privacy(str(channel.get("id")), bool(channel.get("is_private")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return

    def _remembered_privacy(self, channel_id: str) -> bool | None:
        private = self.services.cache.get(
            ("focus.private", self.workspace, channel_id), self.services.now()
        )
        return None if private is None else bool(private)

    def _remember_privacy(self, channel_id: str, private: bool) -> None:
        key = ("focus.private", self.workspace, channel_id)
        self.services.cache.put(key, private, self.services.now(), KEEP_PRIVACY)

    def _ask(self, call: Callable[[WebClient], SlackResponse], about: str) -> dict[str, Any] | None:
        if self.client is None:
            return None
        try:
            response = call(self.client)
        except (SlackClientError, OSError, HTTPException) as error:
            log.warning("Slack could not say who may see %s: %s", about, error)
            return None
        return response.data if isinstance(response.data, dict) else None


def _channels_page(cursor: str) -> Callable[[WebClient], SlackResponse]:
    def ask(client: WebClient) -> SlackResponse:
        return client.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=CHANNELS_PAGE,
            cursor=cursor,
        )

    return ask


def _members_page(channel_id: str, cursor: str) -> Callable[[WebClient], SlackResponse]:
    def ask(client: WebClient) -> SlackResponse:
        return client.conversations_members(channel=channel_id, limit=MEMBERS_PAGE, cursor=cursor)

    return ask


def conversations_for(
    services: Services, workspace: Workspace, client: WebClient | None = None
) -> SlackConversations:
    """Return what Slack says about the workspace's conversations, through a request's client."""
    if client is None and services.slack_client is not None:
        try:
            client = services.slack_client(workspace)
        except Exception as error:  # no client means Slack cannot tell, never a failure
            log.warning("no Slack client for workspace %s: %s", workspace.team_id, error)
    return SlackConversations(services, client, workspace)
