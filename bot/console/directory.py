"""The console's people and channels: names typed in the terminal, ids as Slack sends them."""

import re

from bot.console.fakeslack import BOT_USER_ID


class Directory:
    """Map the names the console has met to Slack-like ids, and back."""

    def __init__(self) -> None:
        self._users: dict[str, str] = {BOT_USER_ID: "focusbot"}
        self._channels: dict[str, str] = {}

    def user_id(self, name: str) -> str:
        """Return the id of a person, remembering their name."""
        name = name.lstrip("@").lower()
        user_id = "U" + re.sub(r"[^A-Z0-9]", "", name.upper())[:16]
        self._users.setdefault(user_id, name)
        return user_id

    def user_name(self, user_id: str) -> str:
        """Return a person's name (without @)."""
        return self._users.get(user_id) or user_id[1:].lower()

    def channel_id(self, channel: str, user: str) -> str:
        """Return the id of `#channel`, or of the person's DM with focusbot for `dm`."""
        if channel == "dm":
            return "D" + self.user_id(user)[1:]
        name = channel.lstrip("#").lower()
        channel_id = "C" + re.sub(r"[^A-Z0-9]", "", name.upper())[:16]
        self._channels.setdefault(channel_id, name)
        return channel_id

    def channel_name(self, channel_id: str) -> str:
        """Return a channel's name (without #)."""
        return self._channels.get(channel_id) or channel_id[1:].lower()

    def audience(self, channel_id: str) -> str:
        """Say where a post went: `in #channel` or `DM to @name`."""
        if channel_id[:1] in ("D", "U", "W"):
            return "DM to @" + self.user_name("U" + channel_id[1:])
        return "in #" + self.channel_name(channel_id)
