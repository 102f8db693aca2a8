"""The team focus list: a short, capped list of what a conversation works on right now."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common.caller import Caller
from bot.focus.checkin import schedule_next_checkin
from bot.focus.commands import FocusError
from bot.focus.history import record_event
from storage import focus as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.focus import DONE, DROPPED, OPEN, FocusItem, FocusList


@dataclass(frozen=True)
class ItemView:
    """An open item as people see it."""

    number: int
    item_id: int
    text: str
    owners: tuple[str, ...]
    added_at: datetime
    in_focus: timedelta
    stalled: bool


@dataclass(frozen=True)
class ListView:
    """A list with its open items, in order."""

    focus_list: FocusList
    items: tuple[ItemView, ...]

    @property
    def is_full(self) -> bool:
        """Tell whether another item would exceed the cap."""
        return len(self.items) >= self.focus_list.cap

    @property
    def stalled(self) -> tuple[ItemView, ...]:
        """Return the items in focus longer than the list's stall threshold."""
        return tuple(item for item in self.items if item.stalled)


def view_of(session: Session, focus_list: FocusList, now: datetime) -> ListView:
    """Return the list as people see it at `now`."""
    assert focus_list.id is not None
    return view_from(focus_list, store.open_items_with_owners(session, focus_list.id), now)


def view_from(
    focus_list: FocusList,
    open_items: Sequence[tuple[FocusItem, tuple[str, ...]]],
    now: datetime,
) -> ListView:
    """Return the list as people see it at `now`, from its open items (in order) and owners."""
    stall_after = timedelta(weeks=focus_list.stall_weeks)
    return ListView(
        focus_list,
        tuple(
            ItemView(
                number=number,
                item_id=item.id or 0,
                text=item.text,
                owners=owners,
                added_at=item.added_at,
                in_focus=now - item.added_at,
                stalled=now - item.added_at > stall_after,
            )
            for number, (item, owners) in enumerate(open_items, start=1)
        ),
    )


def empty_view(caller: Caller, now: datetime) -> ListView:
    """Return what a conversation without a list shows: an empty list with the defaults."""
    return ListView(
        FocusList(
            team_id=caller.workspace.team_id,
            enterprise_id=caller.workspace.enterprise_id,
            channel_id=caller.channel_id,
            is_personal=caller.in_direct_message,
            created_at=now,
        ),
        (),
    )


def find_list(session: Session, caller: Caller, *, for_update: bool = False) -> FocusList | None:
    """Return the caller's conversation's list, if it has one; locked when about to change it."""
    return store.find_list(session, caller.workspace, caller.channel_id, for_update=for_update)


def ensure_list(session: Session, caller: Caller, timezone: str, now: datetime) -> FocusList:
    """Return the conversation's list, creating it (with its weekly check) on first use."""
    existing = find_list(session, caller)
    if existing is not None:
        return existing
    focus_list = FocusList(
        enterprise_id=caller.workspace.enterprise_id,
        team_id=caller.workspace.team_id,
        channel_id=caller.channel_id,
        is_personal=caller.in_direct_message,
        timezone=timezone,
        created_at=now,
    )
    focus_list, created = add_or_take_existing(
        session, focus_list, lambda: find_list(session, caller)
    )
    if created:
        schedule_next_checkin(session, focus_list, now)
    return focus_list


def add_item(
    session: Session,
    focus_list: FocusList,
    actor: str,
    text: str,
    owners: tuple[str, ...],
    now: datetime,
) -> FocusItem:
    """Add an item at the end of the list; refuse when the list is full."""
    assert focus_list.id is not None
    _hold(session, focus_list)
    open_items = store.open_items(session, focus_list.id)
    if len(open_items) >= focus_list.cap:
        raise FocusError(
            f"The list is full ({focus_list.cap} of {focus_list.cap}): finish or drop something "
            "first. Nothing was added.",
            show_list=True,
        )
    item = FocusItem(
        list_id=focus_list.id,
        text=text,
        position=len(open_items) + 1,
        added_by=actor,
        added_at=now,
    )
    session.add(item)
    session.flush()
    assert item.id is not None
    store.add_owners(session, item.id, owners or (actor,))
    record_event(session, focus_list, item, "added", actor, now)
    return item


def item_at(session: Session, focus_list: FocusList, number: int) -> FocusItem:
    """Return open item n (1-based); refuse a number that is not on the list."""
    assert focus_list.id is not None
    items = store.open_items(session, focus_list.id)
    if not 1 <= number <= len(items):
        raise FocusError(_no_such_item(number, len(items)), show_list=bool(items))
    return items[number - 1]


def open_item(session: Session, workspace: Workspace, item_id: int) -> FocusItem:
    """Return an item by id for a button click; refuse one that is gone or elsewhere."""
    item = store.get_item(session, workspace, item_id)
    if item is None:
        raise FocusError("That item is no longer on any list here.")
    if item.state != OPEN:
        raise FocusError(f"“{item.text}” is already {item.state}.")
    return item


def check_may_change(session: Session, focus_list: FocusList, clicker: Caller) -> None:
    """Refuse a button or modal on a list its clicker has no part in: payload ids are forgeable.

    Clicked inside the list's own conversation, Slack vouches the clicker is in it. Elsewhere (the
    Home tab), a personal list is only its owner's, who alone adds to it; a channel's list is
    for the people who own an open item on it or have changed it.
    """
    if clicker.channel_id and clicker.channel_id == focus_list.channel_id:
        return
    assert focus_list.id is not None
    if focus_list.is_personal:
        allowed = store.has_added_to(session, focus_list.id, clicker.user_id)
    else:
        taking_part = store.lists_of_person(session, clicker.workspace, clicker.user_id)
        allowed = any(taken.id == focus_list.id for taken in taking_part)
    if not allowed:
        raise FocusError("That list is not yours to change.")


def finish(session: Session, item: FocusItem, actor: str, now: datetime) -> None:
    """Mark an item done and close the gap it leaves."""
    _close(session, item, DONE, actor, now, reason="")


def drop(session: Session, item: FocusItem, actor: str, now: datetime, reason: str = "") -> None:
    """Drop an item and close the gap it leaves."""
    _close(session, item, DROPPED, actor, now, reason=reason)


def edit(
    session: Session,
    item: FocusItem,
    actor: str,
    text: str,
    owners: tuple[str, ...],
    now: datetime,
) -> None:
    """Reword an item; mentions in the new text make those people its owners."""
    before = item.text
    item.text = text
    session.add(item)
    if owners:
        assert item.id is not None
        store.replace_owners(session, item.id, owners)
    record_event(session, _list_of(session, item), item, "edited", actor, now, detail=before)


def move(session: Session, item: FocusItem, position: int, actor: str, now: datetime) -> None:
    """Move an item to a position, shifting the others."""
    focus_list = _list_of(session, item)
    assert focus_list.id is not None
    _hold(session, focus_list)
    items = store.open_items(session, focus_list.id)
    if not 1 <= position <= len(items):
        raise FocusError(
            f"Position {position} is not on the list: pick 1 to {len(items)}.", show_list=True
        )
    items.remove(item)
    items.insert(position - 1, item)
    _renumber(session, items)
    record_event(session, focus_list, item, "moved", actor, now, detail=str(position))


def set_owners(
    session: Session, item: FocusItem, owners: tuple[str, ...], actor: str, now: datetime
) -> None:
    """Make these people the item's owners."""
    assert item.id is not None
    store.replace_owners(session, item.id, owners)
    record_event(
        session, _list_of(session, item), item, "owners", actor, now, detail=" ".join(owners)
    )


def set_cap(session: Session, focus_list: FocusList, cap: int, actor: str, now: datetime) -> None:
    """Change the cap; refuse one below the number of open items."""
    assert focus_list.id is not None
    _hold(session, focus_list)
    size = len(store.open_items(session, focus_list.id))
    if cap < size:
        raise FocusError(
            f"The list has {size} items, more than a cap of {cap}: finish or drop "
            f"{size - cap} first. The cap stays at {focus_list.cap}.",
            show_list=True,
        )
    focus_list.cap = cap
    session.add(focus_list)
    record_event(session, focus_list, None, "limit", actor, now, detail=str(cap))


def lists_of_person(session: Session, workspace: Workspace, user_id: str) -> list[FocusList]:
    """Return the lists a person takes part in: owns an open item in, or has changed."""
    return store.lists_of_person(session, workspace, user_id)


def in_focus_for(duration: timedelta) -> str:
    """Say how long an item has been in focus: "today", "12 days", "9 weeks"."""
    days = max(duration.days, 0)
    if days == 0:
        return "today"
    if days < 56:
        return "1 day" if days == 1 else f"{days} days"
    return f"{days // 7} weeks"


def _close(
    session: Session, item: FocusItem, state: str, actor: str, now: datetime, reason: str
) -> None:
    focus_list = _list_of(session, item)
    assert focus_list.id is not None
    _hold(session, focus_list)
    item.state, item.closed_by, item.closed_at = state, actor, now
    item.close_reason = reason or None
    session.add(item)
    _renumber(session, store.open_items(session, focus_list.id))
    record_event(session, focus_list, item, state, actor, now, detail=reason)


def _hold(session: Session, focus_list: FocusList) -> None:
    store.hold_list(session, focus_list)


def _renumber(session: Session, items: list[FocusItem]) -> None:
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            session.add(item)


def _list_of(session: Session, item: FocusItem) -> FocusList:
    focus_list = session.get(FocusList, item.list_id)
    assert focus_list is not None
    return focus_list


def _no_such_item(number: int, size: int) -> str:
    if size == 0:
        return f"There is no item {number}: the list is empty."
    if size == 1:
        return f"There is no item {number}: the list has one item, number 1."
    return f"There is no item {number}: the list has items 1 to {size}."
