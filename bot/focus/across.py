"""Focus across teams: every team's list, who may see it, and who follows it."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from sqlmodel import Session

from bot.focus.commands import FocusError
from bot.focus.lists import ListView, view_of
from storage import focus as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.focus import FocusFollow, FocusList

CANNOT_TELL = (
    "Slack could not tell me whether you may see that list, so it stays hidden. "
    "Try again in a minute."
)
NOT_VISIBLE = "That channel has no focus list you can see."


class Access(Enum):
    """Whether someone may see a list."""

    SHOWN = "shown"
    HIDDEN = "hidden"
    UNKNOWN = "unknown"


class Conversations(Protocol):
    """What Slack says about a conversation; None when it cannot tell."""

    def is_private(self, channel_id: str) -> bool | None:
        """Tell whether the conversation is a private channel, a DM or a group DM."""

    def members(self, channel_id: str) -> frozenset[str] | None:
        """Return the people in the conversation."""

    def is_guest(self, user_id: str) -> bool | None:
        """Tell whether a person is a guest of the workspace, who sees only their channels."""


@dataclass(frozen=True)
class TeamView:
    """A team's list as someone outside the team sees it, with its last change."""

    view: ListView
    last_change: datetime


@dataclass(frozen=True)
class Across:
    """The lists someone may see: the first few in full, how many more, how many Slack hid."""

    teams: tuple[TeamView, ...]
    more: int
    unknown: int


def access_to(focus_list: FocusList, viewer: str | None, conversations: Conversations) -> Access:
    """Tell whether a person may see a list (viewer None: everyone in some channel).

    A public channel's list is open to the workspace's members; a private channel's list, a
    personal list in a DM, and for a guest any list, only to the people in that conversation.
    """
    if not focus_list.is_personal:
        private = conversations.is_private(focus_list.channel_id)
        if private is None:
            return Access.UNKNOWN
        if not private:
            guest = False if viewer is None else conversations.is_guest(viewer)
            if guest is None:
                return Access.UNKNOWN
            if not guest:
                return Access.SHOWN
    if viewer is None:
        return Access.HIDDEN
    members = conversations.members(focus_list.channel_id)
    if members is None:
        return Access.UNKNOWN
    return Access.SHOWN if viewer in members else Access.HIDDEN


def across_teams(
    session: Session,
    workspace: Workspace,
    viewer: str | None,
    conversations: Conversations,
    now: datetime,
    *,
    limit: int,
    first: Sequence[int] = (),
    skip: Collection[int] = (),
) -> Across:
    """Return the lists the viewer may see: those in `first` first, then newest change first."""
    rank = {list_id: index for index, list_id in enumerate(first)}
    lists = sorted(
        (row for row in store.lists_by_last_change(session, workspace) if row[0].id not in skip),
        key=lambda row: rank.get(row[0].id or 0, len(rank)),
    )
    shown: list[TeamView] = []
    more = unknown = 0
    for focus_list, last_change in lists:
        access = access_to(focus_list, viewer, conversations)
        if access is Access.UNKNOWN:
            unknown += 1
        elif access is Access.SHOWN and len(shown) < limit:
            shown.append(TeamView(view_of(session, focus_list, now), last_change))
        elif access is Access.SHOWN:
            more += 1
    return Across(tuple(shown), more, unknown)


def visible_list(
    session: Session,
    workspace: Workspace,
    channel_id: str,
    viewer: str,
    conversations: Conversations,
) -> FocusList:
    """Return a channel's list if the viewer may see it; never say whether a hidden one exists."""
    focus_list = store.find_list(session, workspace, channel_id)
    if focus_list is None:
        raise FocusError(NOT_VISIBLE)
    access = access_to(focus_list, viewer, conversations)
    if access is Access.UNKNOWN:
        raise FocusError(CANNOT_TELL)
    if access is Access.HIDDEN:
        raise FocusError(NOT_VISIBLE)
    return focus_list


def follow(session: Session, focus_list: FocusList, user_id: str, now: datetime) -> bool:
    """Follow a list; return False when the person already did."""
    assert focus_list.id is not None
    list_id = focus_list.id
    if store.find_follow(session, list_id, user_id) is not None:
        return False
    _, created = add_or_take_existing(
        session,
        FocusFollow(list_id=list_id, user_id=user_id, followed_at=now),
        lambda: store.find_follow(session, list_id, user_id),
    )
    return created


def unfollow(session: Session, workspace: Workspace, channel_id: str, user_id: str) -> bool:
    """Stop following a channel's list; return False when the person did not follow it."""
    focus_list = store.find_list(session, workspace, channel_id)
    if focus_list is None or focus_list.id is None:
        return False
    found = store.find_follow(session, focus_list.id, user_id)
    if found is None:
        return False
    session.delete(found)
    return True


def followed(session: Session, workspace: Workspace, user_id: str) -> list[int]:
    """Return the ids of the lists a person follows, first followed first."""
    return store.followed_list_ids(session, workspace, user_id)
