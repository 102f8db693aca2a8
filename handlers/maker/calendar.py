"""Linking a calendar with `/maker calendar`, reading it in the background, and its DMs."""

from datetime import datetime

from slack_sdk import WebClient
from sqlmodel import Session

from bot import maker
from bot.common.outbox import payload_of
from bot.common.people import timezone_of
from bot.runtime import metrics
from bot.runtime.services import Services
from handlers.blocks import escape, fallback, section
from handlers.slack import Reply, int_value, note, timezone_fetcher
from storage.base import Workspace
from storage.maker import MakerCalendar
from storage.schedule import ScheduledPost


def calendar_reply(
    session: Session,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    command: maker.CalendarCommand,
    now: datetime,
    allow_private: bool,
) -> Reply:
    """Link, unlink or show the caller's calendar."""
    if command.off:
        removed = maker.unlink_calendar(session, workspace, user_id, channel_id)
        return note(
            "Unlinked your calendar and forgot what I had read from it."
            if removed
            else "No calendar was linked.",
        )
    if command.address is not None:
        maker.link_calendar(
            session,
            workspace,
            user_id,
            channel_id,
            command.address,
            now,
            allow_private=allow_private,
        )
        shown = maker.calendar_status(session, workspace, user_id).shown_address
        return note(
            f"Linked your calendar ({escape(shown)}). I read it every "
            f"{int(maker.POLL_EVERY.total_seconds() // 60)} minutes and DM you once when a "
            "meeting with others falls in your team's maker time.",
            "The address stays private: I only read it. Unlink it with `/maker calendar off`.",
        )
    return note(status_text(maker.calendar_status(session, workspace, user_id)))


def status_text(status: maker.CalendarStatus) -> str:
    """Say whether a calendar is linked, when it was read and what went wrong."""
    if not status.linked:
        return (
            "No calendar linked. In your DM with me, link your calendar's private iCal address "
            "with `/maker calendar &lt;address&gt;` and I'll warn you about meetings in maker time."
        )
    read = "not read yet" if status.last_read_at is None else "read"
    problem = (
        f" :warning: The last reading failed: {escape(status.problem)}." if status.problem else ""
    )
    unreadable = (
        f" {status.unreadable} of its entries could not be read; the rest is watched."
        if status.unreadable
        else ""
    )
    linked = f"Your calendar ({escape(status.shown_address)}) is linked and {read}."
    return linked + problem + unreadable


def deliver_poll(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Queue the calendar's next reading and hand this one to a background worker.

    The feed is fetched off the tick and with no database session open, so a slow calendar
    server delays nothing but its own reading; the worker stores what it read in a short
    transaction of its own.
    """
    now = services.now()
    workspace = Workspace(post.team_id, post.enterprise_id)
    calendar = session.get(MakerCalendar, int_value(payload_of(post).get("calendar_id")) or 0)
    if calendar is None or (calendar.team_id, calendar.enterprise_id) != (
        workspace.team_id,
        workspace.enterprise_id,
    ):
        return
    timezone = timezone_of(session, workspace, calendar.user_id, timezone_fetcher(client), now)
    reading = maker.begin_reading(session, calendar, timezone, now)
    allow_private = services.settings.calendar_private_addresses
    services.background.submit(
        (maker.POLL_KIND, reading.calendar_id), lambda: _read(services, reading, allow_private)
    )


def _read(services: Services, reading: maker.Reading, allow_private: bool) -> None:
    outcome = maker.read_feed(reading, allow_private=allow_private)
    with services.session() as session:
        maker.finish_reading(session, reading, outcome)
    metrics.calendar_polled(failed=outcome.problem is not None)


def deliver_broken_feed(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Tell a member, once, that their calendar cannot be read (and that I keep trying)."""
    problem = escape(str(payload_of(post).get("problem") or "it could not be read"))
    text = (
        f":warning: I can't read your linked calendar: {problem}. I keep trying every "
        f"{int(maker.POLL_EVERY.total_seconds() // 60)} minutes and won't tell you again until "
        "it works. Link a new address with `/maker calendar &lt;address&gt;` or stop with "
        "`/maker calendar off`."
    )
    client.chat_postMessage(
        channel=post.channel_id, text=fallback(text), blocks=[section(text).to_dict()]
    )


def deliver_partly_read(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Tell a member, once per change, how many entries of their calendar could not be read."""
    text = f":warning: {_unreadable_text(int_value(payload_of(post).get('unreadable')) or 0)}"
    client.chat_postMessage(channel=post.channel_id, text=text, blocks=[section(text).to_dict()])


def _unreadable_text(unreadable: int) -> str:
    entries = "1 entry" if unreadable == 1 else f"{unreadable} entries"
    return (
        f"{entries} in your calendar could not be read; the rest is watched. "
        "I'll tell you again only if that number changes."
    )
