"""Record what happens to a list, and show what was added, finished and dropped."""

from datetime import datetime, timedelta

from sqlmodel import Session

from storage import focus as store
from storage.focus import DONE, DROPPED, FocusEvent, FocusItem, FocusList

HISTORY_KINDS = ("added", DONE, DROPPED)


def history(session: Session, focus_list: FocusList, weeks: int, now: datetime) -> list[FocusEvent]:
    """Return what was added, finished and dropped in the last weeks, oldest first."""
    assert focus_list.id is not None
    events = store.events_between(session, focus_list.id, now - timedelta(weeks=weeks), now)
    return [event for event in events if event.kind in HISTORY_KINDS]


def record_event(
    session: Session,
    focus_list: FocusList,
    item: FocusItem | None,
    kind: str,
    actor: str,
    now: datetime,
    detail: str = "",
) -> None:
    """Record a change to the list, or to one of its items, in the list's history."""
    assert focus_list.id is not None
    store.add_event(
        session,
        {
            "list_id": focus_list.id,
            "item_id": item.id if item is not None else None,
            "kind": kind,
            "actor_id": actor,
            "at": now,
            "item_text": item.text if item is not None else "",
            "detail": detail,
        },
    )
