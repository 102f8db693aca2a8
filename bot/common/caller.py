"""Who asks focusbot something, and in which conversation."""

from dataclasses import dataclass

from storage.base import Workspace


@dataclass(frozen=True)
class Caller:
    """A person in a conversation of a workspace."""

    workspace: Workspace
    user_id: str
    channel_id: str

    @property
    def in_direct_message(self) -> bool:
        """Tell whether the conversation is the caller's DM with the bot."""
        return self.channel_id.startswith("D")
