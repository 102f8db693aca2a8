"""The focus list's part of the weekly digest."""

from sqlmodel import Session

from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.focus.lists import in_focus_for, view_of
from storage import focus as store
from storage.focus import DONE, DROPPED


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
