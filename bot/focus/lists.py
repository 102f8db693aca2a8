"""The team focus list: a short, capped list of what a conversation works on right now."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common import outbox
from bot.common.caller import Caller
from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.common.mentions import USER_MENTION, mentioned_users, plain_text, without_mentions
from bot.common.recurrence import (
    WEEKDAYS,
    format_clock,
    is_known_timezone,
    next_weekly,
    parse_clock,
    parse_weekday,
)
from storage import focus as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.focus import DONE, DROPPED, OPEN, FocusEvent, FocusItem, FocusList

MIN_CAP, MAX_CAP = 1, 7
MAX_ITEM_LENGTH = 280
MAX_REASON_LENGTH = 500
DEFAULT_HISTORY_WEEKS = 4
MAX_WEEKS = 52
CHECKIN_KIND = "focus.checkin"
HISTORY_KINDS = ("added", DONE, DROPPED)

USAGE = """\
/focus — show the list (only to you)
/focus add <text> — add an item; people you mention own it (else you do)
/focus done <n> — finish item n
/focus drop <n> [reason] — drop item n
/focus edit <n> <text> — reword item n
/focus move <n> <position> — move item n to another position
/focus owner <n> @someone… — change who owns item n
/focus limit [k] — show or set how many items fit (1 to 7, default 3)
/focus share — post the list in the channel for everyone
/focus history [weeks] — what was added, finished and dropped (default 4 weeks)
/focus checkin [<day> <HH:MM> [timezone] | off] — the weekly focus check (default Monday 09:30)
/focus stall [weeks] — after how many weeks in focus an item counts as stalled (default 6)
/focus help — this text"""


class UsageError(Exception):
    """The command could not be read; the message says how to write it."""


class FocusError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str, *, show_list: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.show_list = show_list


@dataclass(frozen=True)
class ShowList:
    """Show the list to the caller."""


@dataclass(frozen=True)
class Add:
    """Add an item."""

    text: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Finish:
    """Finish item n."""

    number: int


@dataclass(frozen=True)
class Drop:
    """Drop item n."""

    number: int
    reason: str


@dataclass(frozen=True)
class Edit:
    """Reword item n."""

    number: int
    text: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    """Move item n to a position."""

    number: int
    position: int


@dataclass(frozen=True)
class SetOwners:
    """Change who owns item n."""

    number: int
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Limit:
    """Show the cap, or set it."""

    cap: int | None


@dataclass(frozen=True)
class Share:
    """Post the list for everyone."""


@dataclass(frozen=True)
class History:
    """Show what changed over some weeks."""

    weeks: int


@dataclass(frozen=True)
class Checkin:
    """Show the weekly check, turn it off, or set its day and time."""

    weekday: int | None = None
    minute: int | None = None
    timezone: str | None = None
    off: bool = False


@dataclass(frozen=True)
class Stall:
    """Show or set after how many weeks an item counts as stalled."""

    weeks: int | None


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


Command = (
    ShowList
    | Add
    | Finish
    | Drop
    | Edit
    | Move
    | SetOwners
    | Limit
    | Share
    | History
    | Checkin
    | Stall
    | Help
)


def parse_command(text: str) -> Command:
    """Read the text after `/focus`; raise UsageError with a hint when it cannot be read."""
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "list"):
        return ShowList() if not rest else _usage(f"`/focus {word}` takes nothing after it.")
    if word == "help":
        return Help()
    if word == "share":
        return Share() if not rest else _usage("`/focus share` takes nothing after it.")
    if word == "add":
        text, owners = _item_text(rest, "/focus add Ship the eval harness @alex")
        return Add(text, owners)
    if word in ("done", "drop", "edit", "move", "owner"):
        return _parse_item_command(word, rest)
    if word == "limit":
        cap = _optional_number(rest, "/focus limit 4")
        if cap is not None and not MIN_CAP <= cap <= MAX_CAP:
            _usage(
                f"The cap must be between {MIN_CAP} and {MAX_CAP}, for example `/focus limit 4`."
            )
        return Limit(cap)
    if word == "history":
        weeks = _optional_number(rest, "/focus history 8")
        return History(_weeks_in_range(weeks, "/focus history 8", DEFAULT_HISTORY_WEEKS))
    if word == "stall":
        weeks = _optional_number(rest, "/focus stall 6")
        return Stall(None if weeks is None else _weeks_in_range(weeks, "/focus stall 6", 6))
    if word == "checkin":
        return _parse_checkin(rest)
    return _usage(f"I don't know `/focus {_quote(word)}`.")


def _parse_item_command(word: str, rest: str) -> Command:
    number_text, _, tail = rest.partition(" ")
    tail = tail.strip()
    examples = {
        "done": "/focus done 2",
        "drop": "/focus drop 2 superseded by the new data pipeline",
        "edit": "/focus edit 2 Ship the eval harness v2",
        "move": "/focus move 3 1",
        "owner": "/focus owner 2 @alex @sam",
    }
    number = _number(number_text, examples[word])
    if word == "done":
        return Finish(number) if not tail else _usage("`/focus done` takes only the item number.")
    if word == "drop":
        reason = plain_text(tail)
        if len(reason) > MAX_REASON_LENGTH:
            _usage(f"Keep the reason under {MAX_REASON_LENGTH} characters.")
        return Drop(number, reason)
    if word == "edit":
        text, owners = _item_text(tail, examples["edit"])
        return Edit(number, text, owners)
    if word == "move":
        return Move(number, _number(tail, examples["move"]))
    owners = tuple(mentioned_users(tail))
    if not owners or USER_MENTION.sub("", tail).strip():
        _usage(f"Mention the new owners, for example `{examples['owner']}`.")
    return SetOwners(number, owners)


def _parse_checkin(rest: str) -> Checkin:
    example = "/focus checkin mon 09:30"
    words = rest.split()
    if not words:
        return Checkin()
    if words == ["off"]:
        return Checkin(off=True)
    if len(words) not in (2, 3):
        _usage(f"Give a day and a 24-hour time, for example `{example}`, or `/focus checkin off`.")
    weekday, minute = parse_weekday(words[0]), parse_clock(words[1])
    if weekday is None:
        _usage(f"`{_quote(words[0])}` is not a weekday; try `{example}`.")
    if minute is None:
        _usage(f"`{_quote(words[1])}` is not a 24-hour time like 09:30; try `{example}`.")
    timezone = words[2] if len(words) == 3 else None
    if timezone is not None and not is_known_timezone(timezone):
        _usage(f"`{_quote(timezone)}` is not a timezone; try `{example} Europe/Berlin`.")
    return Checkin(weekday=weekday, minute=minute, timezone=timezone)


def _item_text(raw: str, example: str) -> tuple[str, tuple[str, ...]]:
    owners = tuple(mentioned_users(raw))
    text = without_mentions(plain_text(raw))
    if not text:
        _usage(f"Say what the item is, for example `{example}`.")
    if len(text) > MAX_ITEM_LENGTH:
        _usage(
            f"Keep an item short: at most {MAX_ITEM_LENGTH} characters (this one has "
            f"{len(text):,}). A focus item is a post-it, not a spec."
        )
    return text, owners


def _number(word: str, example: str) -> int:
    word = word.strip()
    if not word.isdecimal() or len(word) > 6:
        _usage(f"Give a number, for example `{example}`.")
    return int(word)


def _optional_number(rest: str, example: str) -> int | None:
    return None if not rest else _number(rest, example)


def _weeks_in_range(weeks: int | None, example: str, default: int) -> int:
    if weeks is None:
        return default
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return weeks


def _quote(word: str) -> str:
    return plain_text(word)[:40].replace("`", "'")


def _usage(message: str) -> Command:
    raise UsageError(message)


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
    items = store.open_items(session, focus_list.id)
    owners = store.owners_by_item(session, [item.id for item in items if item.id is not None])
    stall_after = timedelta(weeks=focus_list.stall_weeks)
    return ListView(
        focus_list,
        tuple(
            ItemView(
                number=number,
                item_id=item.id or 0,
                text=item.text,
                owners=tuple(owners.get(item.id or 0, ())),
                added_at=item.added_at,
                in_focus=now - item.added_at,
                stalled=now - item.added_at > stall_after,
            )
            for number, item in enumerate(items, start=1)
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


def find_list(session: Session, caller: Caller) -> FocusList | None:
    """Return the caller's conversation's list, if it has one."""
    return store.find_list(session, caller.workspace, caller.channel_id)


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
    store.replace_owners(session, item.id, owners or (actor,))
    _record(session, focus_list, item, "added", actor, now)
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
    _record(session, _list_of(session, item), item, "edited", actor, now, detail=before)


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
    _record(session, focus_list, item, "moved", actor, now, detail=str(position))


def set_owners(
    session: Session, item: FocusItem, owners: tuple[str, ...], actor: str, now: datetime
) -> None:
    """Make these people the item's owners."""
    assert item.id is not None
    store.replace_owners(session, item.id, owners)
    _record(session, _list_of(session, item), item, "owners", actor, now, detail=" ".join(owners))


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
    _record(session, focus_list, None, "limit", actor, now, detail=str(cap))


def set_checkin(session: Session, focus_list: FocusList, command: Checkin, now: datetime) -> None:
    """Move the weekly check to another day and time, or turn it off."""
    if command.off:
        focus_list.checkin_weekday = None
    else:
        assert command.weekday is not None and command.minute is not None
        focus_list.checkin_weekday, focus_list.checkin_minute = command.weekday, command.minute
        focus_list.timezone = command.timezone or focus_list.timezone
    session.add(focus_list)
    workspace = Workspace(focus_list.team_id, focus_list.enterprise_id)
    outbox.cancel_pending(session, workspace, focus_list.channel_id, CHECKIN_KIND)
    schedule_next_checkin(session, focus_list, now)


def set_stall_weeks(session: Session, focus_list: FocusList, weeks: int) -> None:
    """Change after how many weeks in focus an item counts as stalled."""
    focus_list.stall_weeks = weeks
    session.add(focus_list)


def describe_checkin(focus_list: FocusList) -> str:
    """Say when the weekly check runs, in words."""
    if focus_list.checkin_weekday is None:
        return "The weekly focus check is off."
    day = WEEKDAYS[focus_list.checkin_weekday].capitalize()
    return (
        f"The weekly focus check runs {day}s at {format_clock(focus_list.checkin_minute)} "
        f"({focus_list.timezone}) and points out items in focus longer than "
        f"{focus_list.stall_weeks} weeks."
    )


def schedule_next_checkin(session: Session, focus_list: FocusList, now: datetime) -> None:
    """Put the list's next weekly check in the outbox, if the check is on."""
    if focus_list.checkin_weekday is None:
        return
    due = next_weekly(
        now, focus_list.checkin_weekday, focus_list.checkin_minute, focus_list.timezone
    )
    outbox.schedule_post(
        session,
        workspace=Workspace(focus_list.team_id, focus_list.enterprise_id),
        channel_id=focus_list.channel_id,
        kind=CHECKIN_KIND,
        due_at=due,
        key=f"{CHECKIN_KIND}:{focus_list.id}:{due.isoformat()}",
        now=now,
        payload={"list_id": focus_list.id},
    )


def history(session: Session, focus_list: FocusList, weeks: int, now: datetime) -> list[FocusEvent]:
    """Return what was added, finished and dropped in the last weeks, oldest first."""
    assert focus_list.id is not None
    events = store.events_between(session, focus_list.id, now - timedelta(weeks=weeks), now)
    return [event for event in events if event.kind in HISTORY_KINDS]


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
    _record(session, focus_list, item, state, actor, now, detail=reason)


def _hold(session: Session, focus_list: FocusList) -> None:
    # Lock the list's row until the transaction ends: concurrent changes that count or renumber
    # its items then take turns (PostgreSQL; SQLite transactions already do).
    session.flush()  # a refresh would otherwise drop changes not yet written
    session.refresh(focus_list, with_for_update=True)


def _renumber(session: Session, items: list[FocusItem]) -> None:
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            session.add(item)


def _list_of(session: Session, item: FocusItem) -> FocusList:
    focus_list = session.get(FocusList, item.list_id)
    assert focus_list is not None
    return focus_list


def _record(
    session: Session,
    focus_list: FocusList,
    item: FocusItem | None,
    kind: str,
    actor: str,
    now: datetime,
    detail: str = "",
) -> None:
    assert focus_list.id is not None
    session.add(
        FocusEvent(
            list_id=focus_list.id,
            item_id=item.id if item is not None else None,
            kind=kind,
            actor_id=actor,
            at=now,
            item_text=item.text if item is not None else "",
            detail=detail,
        )
    )


def _no_such_item(number: int, size: int) -> str:
    if size == 0:
        return f"There is no item {number}: the list is empty."
    if size == 1:
        return f"There is no item {number}: the list has one item, number 1."
    return f"There is no item {number}: the list has items 1 to {size}."


def digest_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the focus list's week: finished, added, dropped, and what has stalled."""
    focus_list = store.find_list(session, window.workspace, window.channel_id)
    if focus_list is None or focus_list.id is None:
        return None
    verbs = {DONE: "Finished", "added": "Added", DROPPED: "Dropped"}
    lines = [
        DigestLine(f"{verbs[event.kind]}: {event.item_text}", (event.actor_id,))
        for event in store.events_between(session, focus_list.id, window.start, window.end)
        if event.kind in verbs
    ]
    lines += [
        DigestLine(f"Stalled: {item.text} — in focus {in_focus_for(item.in_focus)}", item.owners)
        for item in view_of(session, focus_list, window.end).stalled
    ]
    return DigestSection("Focus this week", tuple(lines), order=10)
