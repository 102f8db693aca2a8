"""The focus list's part of the weekly digest, read for many digests at once."""

from collections.abc import Sequence

from sqlmodel import Session

from bot.common.digest import (
    BatchedSection,
    DigestLine,
    DigestSection,
    DigestSectionBuilder,
    DigestWindow,
    places_of,
    span_of,
)
from bot.focus.lists import in_focus_for, view_from
from storage import focus as store
from storage.focus import DONE, DROPPED

VERBS = {DONE: "Finished", "added": "Added", DROPPED: "Dropped"}


def _read(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Read the digests' channels' lists, their week's events and their open items."""
    lists = store.lists_in(session, places_of(windows))
    list_ids = {focus_list.id for focus_list in lists.values() if focus_list.id is not None}
    events = store.events_of_lists_between(session, list_ids, *span_of(windows))
    open_items = store.open_items_with_owners_of_lists(session, list_ids)

    def digest_section(_session: Session, window: DigestWindow) -> DigestSection | None:
        """Return the focus list's week: finished, added, dropped, and what has stalled."""
        focus_list = lists.get((window.workspace, window.channel_id))
        if focus_list is None or focus_list.id is None:
            return None
        lines = [
            DigestLine(f"{VERBS[event.kind]}: {event.item_text}", (event.actor_id,))
            for event in events
            if event.list_id == focus_list.id
            and window.start <= event.at < window.end
            and event.kind in VERBS
        ]
        view = view_from(focus_list, open_items[focus_list.id], window.end)
        lines += [
            DigestLine(
                f"Stalled: {item.text} — in focus {in_focus_for(item.in_focus)}", item.owners
            )
            for item in view.stalled
        ]
        return DigestSection("Focus this week", tuple(lines), order=10)

    return digest_section


digest_section = BatchedSection(_read)
