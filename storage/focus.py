"""Tables and queries of the team focus list."""

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint, bindparam, insert
from sqlmodel import Field, Session, SQLModel, col, func, or_, select

from storage.base import (
    UTCDateTime,
    Workspace,
    bound_values,
    of_bound_channel,
    rows_in_channels,
)

OPEN, DONE, DROPPED = "open", "done", "dropped"


class FocusList(SQLModel, table=True):
    """The short list a Slack conversation keeps in focus."""

    __tablename__ = "focus_list"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    is_personal: bool = False
    cap: int = 3
    stall_weeks: int = 6
    checkin_weekday: int | None = 0
    checkin_minute: int = 9 * 60 + 30
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class FocusItem(SQLModel, table=True):
    """One thing the team works on."""

    __tablename__ = "focus_item"
    # A list's few open items, without reading the many it has closed.
    __table_args__ = (Index("ix_focus_item_list_id_state", "list_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(
        sa_column=Column(Integer, ForeignKey("focus_list.id", ondelete="CASCADE"), nullable=False)
    )
    text: str = Field(max_length=1000)
    position: int = 0
    state: str = Field(default=OPEN, max_length=16, index=True)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str | None = Field(default=None, max_length=1000)


class FocusItemOwner(SQLModel, table=True):
    """A person who owns a focus item."""

    __tablename__ = "focus_item_owner"

    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("focus_item.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: str = Field(primary_key=True, max_length=32, index=True)


class FocusEvent(SQLModel, table=True):
    """A change to a focus list: who did what, and when."""

    __tablename__ = "focus_event"

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("focus_list.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    item_id: int | None = Field(default=None, index=True)
    kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=32, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    item_text: str = Field(default="", max_length=1000)
    detail: str = Field(default="", max_length=1000)


class FocusFollow(SQLModel, table=True):
    """A person who follows a team's focus list: it comes first on their Home tab."""

    __tablename__ = "focus_follow"
    __table_args__ = (UniqueConstraint("list_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("focus_list.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    user_id: str = Field(max_length=32, index=True)
    followed_at: datetime = Field(sa_type=UTCDateTime)


class FocusAcrossPost(SQLModel, table=True):
    """A channel's weekly post of every team's focus: its weekday and time, or off."""

    __tablename__ = "focus_across_post"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    weekday: int | None = None
    minute: int = 9 * 60
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


# The queries every `/focus` runs, built once: a request only binds its values.
_FIND_LIST = select(FocusList).where(*of_bound_channel(FocusList))
_OPEN_ITEMS = (
    select(FocusItem)
    .where(FocusItem.list_id == bindparam("list_id"), FocusItem.state == OPEN)
    .order_by(col(FocusItem.position), col(FocusItem.id))
)
_OPEN_ITEMS_WITH_OWNERS = (
    select(FocusItem, FocusItemOwner.user_id)
    .outerjoin(FocusItemOwner, col(FocusItemOwner.item_id) == col(FocusItem.id))
    .where(FocusItem.list_id == bindparam("list_id"), FocusItem.state == OPEN)
    .order_by(col(FocusItem.position), col(FocusItem.id), col(FocusItemOwner.user_id))
)


_FIND_LIST_FOR_UPDATE = _FIND_LIST.with_for_update()
_EVENTS = SQLModel.metadata.tables["focus_event"]
_ADD_EVENT = insert(_EVENTS)
_HELD = "focus_lists_held"  # the session.info key of the ids of the lists locked until commit


def find_list(
    session: Session, workspace: Workspace, channel_id: str, *, for_update: bool = False
) -> FocusList | None:
    """Return the conversation's list, if it has one; locked until commit when for update."""
    found = session.exec(
        _FIND_LIST_FOR_UPDATE if for_update else _FIND_LIST,
        params=bound_values(workspace, channel_id=channel_id),
    ).first()
    if for_update and found is not None:
        session.info.setdefault(_HELD, set()).add(found.id)
    return found


def hold_list(session: Session, focus_list: FocusList) -> None:
    """Lock the list's row until the transaction ends, reading it afresh (once per transaction).

    Concurrent changes that count or renumber its items then take turns (PostgreSQL; SQLite
    transactions already do).
    """
    held = session.info.setdefault(_HELD, set())
    if focus_list.id in held:
        return
    session.flush()  # a refresh would otherwise drop changes not yet written
    session.refresh(focus_list, with_for_update=True)
    held.add(focus_list.id)


def get_list(session: Session, workspace: Workspace, list_id: int) -> FocusList | None:
    """Return a list by id, only if it belongs to the workspace."""
    focus_list = session.get(FocusList, list_id)
    if focus_list is None or not _in_workspace(focus_list, workspace):
        return None
    return focus_list


def lists_by_id(session: Session, list_ids: Collection[int]) -> dict[int, FocusList]:
    """Return these lists, by id, in one query."""
    if not list_ids:
        return {}
    rows = session.exec(select(FocusList).where(col(FocusList.id).in_(sorted(list_ids))))
    return {focus_list.id or 0: focus_list for focus_list in rows}


def get_item(session: Session, workspace: Workspace, item_id: int) -> FocusItem | None:
    """Return an item by id, only if its list belongs to the workspace."""
    item = session.get(FocusItem, item_id)
    if item is None or get_list(session, workspace, item.list_id) is None:
        return None
    return item


def has_added_to(session: Session, list_id: int, user_id: str) -> bool:
    """Tell whether a person has ever added an item to a list."""
    added = select(FocusItem.id).where(FocusItem.list_id == list_id, FocusItem.added_by == user_id)
    return session.exec(added.limit(1)).first() is not None


def open_items(session: Session, list_id: int) -> list[FocusItem]:
    """Return the open items of a list in their order."""
    return list(session.exec(_OPEN_ITEMS, params={"list_id": list_id}))


def open_items_with_owners(
    session: Session, list_id: int
) -> list[tuple[FocusItem, tuple[str, ...]]]:
    """Return the open items of a list in their order, each with its owners, in one query."""
    items: dict[int | None, tuple[FocusItem, list[str]]] = {}
    for item, owner in session.execute(_OPEN_ITEMS_WITH_OWNERS, {"list_id": list_id}):
        _, owners = items.setdefault(item.id, (item, []))
        if owner is not None:
            owners.append(owner)
    return [(item, tuple(owners)) for item, owners in items.values()]


def lists_in(
    session: Session, places: Collection[tuple[Workspace, str]]
) -> dict[tuple[Workspace, str], FocusList]:
    """Return the lists of several conversations in one query, by workspace and channel."""
    return rows_in_channels(session, FocusList, places)


def open_items_with_owners_of_lists(
    session: Session, list_ids: Collection[int]
) -> dict[int, list[tuple[FocusItem, tuple[str, ...]]]]:
    """Return the open items of several lists in their order, each with its owners, in one query."""
    found: dict[int, list[tuple[FocusItem, tuple[str, ...]]]] = {id_: [] for id_ in list_ids}
    if not list_ids:
        return found
    items: dict[int | None, tuple[FocusItem, list[str]]] = {}
    rows = session.exec(
        select(FocusItem, FocusItemOwner.user_id)
        .outerjoin(FocusItemOwner, col(FocusItemOwner.item_id) == col(FocusItem.id))
        .where(col(FocusItem.list_id).in_(sorted(list_ids)), FocusItem.state == OPEN)
        .order_by(
            col(FocusItem.list_id),
            col(FocusItem.position),
            col(FocusItem.id),
            col(FocusItemOwner.user_id),
        )
    )
    for item, owner in rows:
        _, owners = items.setdefault(item.id, (item, []))
        if owner is not None:
            owners.append(owner)
    for item, owners in items.values():
        found[item.list_id].append((item, tuple(owners)))
    return found


def add_owners(session: Session, item_id: int, user_ids: Sequence[str]) -> None:
    """Give a new item its owners."""
    for user_id in dict.fromkeys(user_ids):
        session.add(FocusItemOwner(item_id=item_id, user_id=user_id))


def add_event(session: Session, event: dict[str, object]) -> None:
    """Record a change to a list in one prebuilt INSERT (FocusEvent's columns, but its id)."""
    session.execute(_ADD_EVENT, event)


def replace_owners(session: Session, item_id: int, user_ids: Sequence[str]) -> None:
    """Make exactly these people the item's owners."""
    for row in session.exec(select(FocusItemOwner).where(FocusItemOwner.item_id == item_id)):
        session.delete(row)
    session.flush()
    for user_id in dict.fromkeys(user_ids):
        session.add(FocusItemOwner(item_id=item_id, user_id=user_id))


def events_between(
    session: Session, list_id: int, start: datetime, end: datetime
) -> list[FocusEvent]:
    """Return a list's events from start (inclusive) to end (exclusive), oldest first."""
    return list(
        session.exec(
            select(FocusEvent)
            .where(FocusEvent.list_id == list_id, FocusEvent.at >= start, FocusEvent.at < end)
            .order_by(col(FocusEvent.at), col(FocusEvent.id))
        )
    )


def events_of_lists_between(
    session: Session, list_ids: Collection[int], start: datetime, end: datetime
) -> list[FocusEvent]:
    """Return several lists' events from start (inclusive) to end (exclusive), oldest first."""
    if not list_ids:
        return []
    return list(
        session.exec(
            select(FocusEvent)
            .where(
                col(FocusEvent.list_id).in_(sorted(list_ids)),
                FocusEvent.at >= start,
                FocusEvent.at < end,
            )
            .order_by(col(FocusEvent.at), col(FocusEvent.id))
        )
    )


def lists_of_person(session: Session, workspace: Workspace, user_id: str) -> list[FocusList]:
    """Return the lists a person owns an open item in or has changed, oldest first."""
    owned = (
        select(FocusItem.list_id)
        .join(FocusItemOwner, col(FocusItemOwner.item_id) == col(FocusItem.id))
        .where(FocusItemOwner.user_id == user_id, FocusItem.state == OPEN)
    )
    changed = select(FocusEvent.list_id).where(FocusEvent.actor_id == user_id)
    return list(
        session.exec(
            select(FocusList)
            .where(
                FocusList.enterprise_id == workspace.enterprise_id,
                FocusList.team_id == workspace.team_id,
                or_(col(FocusList.id).in_(owned), col(FocusList.id).in_(changed)),
            )
            .order_by(col(FocusList.id))
        )
    )


def lists_by_last_change(
    session: Session, workspace: Workspace
) -> list[tuple[FocusList, datetime]]:
    """Return every list of the workspace with its last change (else its creation), newest first."""
    last = (
        select(FocusEvent.list_id, func.max(FocusEvent.at).label("last_at"))
        .group_by(col(FocusEvent.list_id))
        .subquery()
    )
    rows = session.exec(
        select(FocusList, last.c.last_at)
        .outerjoin(last, last.c.list_id == col(FocusList.id))
        .where(
            FocusList.enterprise_id == workspace.enterprise_id,
            FocusList.team_id == workspace.team_id,
        )
    )
    changed = [(focus_list, last_at or focus_list.created_at) for focus_list, last_at in rows]
    return sorted(changed, key=lambda row: (row[1], row[0].id or 0), reverse=True)


def find_follow(session: Session, list_id: int, user_id: str) -> FocusFollow | None:
    """Return the person's follow of a list, if they follow it."""
    return session.exec(
        select(FocusFollow).where(FocusFollow.list_id == list_id, FocusFollow.user_id == user_id)
    ).first()


def followed_list_ids(session: Session, workspace: Workspace, user_id: str) -> list[int]:
    """Return the ids of the workspace's lists a person follows, first followed first."""
    return list(
        session.exec(
            select(FocusFollow.list_id)
            .join(FocusList, col(FocusList.id) == col(FocusFollow.list_id))
            .where(
                FocusFollow.user_id == user_id,
                FocusList.enterprise_id == workspace.enterprise_id,
                FocusList.team_id == workspace.team_id,
            )
            .order_by(col(FocusFollow.followed_at), col(FocusFollow.id))
        )
    )


def find_across_post(
    session: Session, workspace: Workspace, channel_id: str
) -> FocusAcrossPost | None:
    """Return the channel's weekly cross-team post settings, if it ever had them."""
    return session.exec(
        select(FocusAcrossPost).where(
            FocusAcrossPost.enterprise_id == workspace.enterprise_id,
            FocusAcrossPost.team_id == workspace.team_id,
            FocusAcrossPost.channel_id == channel_id,
        )
    ).first()


def get_across_post(session: Session, workspace: Workspace, post_id: int) -> FocusAcrossPost | None:
    """Return weekly cross-team post settings by id, only if they belong to the workspace."""
    found = session.get(FocusAcrossPost, post_id)
    if found is None or (found.enterprise_id, found.team_id) != (
        workspace.enterprise_id,
        workspace.team_id,
    ):
        return None
    return found


def _in_workspace(focus_list: FocusList, workspace: Workspace) -> bool:
    return (focus_list.enterprise_id, focus_list.team_id) == (
        workspace.enterprise_id,
        workspace.team_id,
    )
