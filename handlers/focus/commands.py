"""Carry out a parsed `/focus` command and say what changed."""

from datetime import datetime

from slack_sdk import WebClient
from sqlmodel import Session

from bot import focus
from bot.common.caller import Caller
from bot.common.dates import moment_text
from bot.common.people import timezone_of
from bot.common.recurrence import zone
from bot.focus import Checkin, FocusError
from bot.runtime.services import Services
from handlers.blocks import (
    context,
    escape,
    escape_keeping_mentions,
    header,
    packed_sections,
    section,
)
from handlers.focus.across import ACROSS_COMMANDS, run_across
from handlers.focus.views import list_blocks, list_reply, people, summary
from handlers.slack import Reply, note, timezone_fetcher, usage_reply
from storage.focus import FocusList

HISTORY_SECTIONS = 40
HINT = "Type `/focus help` for every command."


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(focus.USAGE, problem)


def run(services: Services, client: WebClient, caller: Caller, command: focus.Command) -> Reply:
    """Carry out a parsed command; a refusal changes nothing and says why."""
    now = services.now()
    try:
        with services.session() as session:
            if isinstance(command, ACROSS_COMMANDS):
                return run_across(services, session, client, caller, command, now)
            return _carry_out(session, client, caller, command, now)
    except FocusError as refusal:
        with services.session() as session:
            return _refusal(session, caller, refusal, now)


def _carry_out(
    session: Session, client: WebClient, caller: Caller, command: focus.Command, now: datetime
) -> Reply:
    if isinstance(command, focus.Help):
        return usage()
    changes = not isinstance(command, focus.ShowList | focus.Share | focus.History)
    focus_list = focus.find_list(session, caller, for_update=changes)
    if isinstance(command, focus.ShowList | focus.Share):
        view = (
            focus.view_of(session, focus_list, now) if focus_list else focus.empty_view(caller, now)
        )
        return Reply(summary(view), list_blocks(view, now), public=isinstance(command, focus.Share))
    if isinstance(command, focus.History):
        timezone = timezone_of(
            session, caller.workspace, caller.user_id, timezone_fetcher(client), now
        )
        return _history_reply(session, focus_list, command.weeks, timezone, now)
    if isinstance(command, focus.Limit | focus.Checkin | focus.Stall) and _only_shows(command):
        return _setting_reply(focus_list or focus.empty_view(caller, now).focus_list, command)
    if isinstance(command, focus.Add | focus.Limit | focus.Checkin | focus.Stall):
        if focus_list is None:
            timezone = timezone_of(
                session, caller.workspace, caller.user_id, timezone_fetcher(client), now
            )
            focus_list = focus.ensure_list(session, caller, timezone, now)
        return _change_list(session, focus_list, caller.user_id, command, now)
    if focus_list is None:
        raise FocusError(
            "This conversation has no focus list yet. Start one with `/focus add <text>`."
        )
    return _change_item(session, focus_list, caller.user_id, command, now)


def _only_shows(command: focus.Limit | focus.Checkin | focus.Stall) -> bool:
    if isinstance(command, focus.Limit):
        return command.cap is None
    if isinstance(command, focus.Stall):
        return command.weeks is None
    return command == Checkin()


def _change_list(
    session: Session, focus_list: FocusList, actor: str, command: focus.Command, now: datetime
) -> Reply:
    if isinstance(command, focus.Add):
        item = focus.add_item(session, focus_list, actor, command.text, command.owners, now)
        return list_reply(
            session, focus_list, now, f"Added “{escape_keeping_mentions(item.text)}”."
        )
    if isinstance(command, focus.Limit) and command.cap is not None:
        focus.set_cap(session, focus_list, command.cap, actor, now)
    elif isinstance(command, focus.Checkin):
        focus.set_checkin(session, focus_list, command, now)
    elif isinstance(command, focus.Stall) and command.weeks is not None:
        focus.set_stall_weeks(session, focus_list, command.weeks)
    assert isinstance(command, focus.Limit | focus.Checkin | focus.Stall)
    return _setting_reply(focus_list, command)


def _setting_reply(
    focus_list: FocusList, command: focus.Limit | focus.Checkin | focus.Stall
) -> Reply:
    if isinstance(command, focus.Limit):
        return note(
            f"The list holds at most {focus_list.cap} items.",
            f"Set it with `/focus limit &lt;k&gt;` ({focus.MIN_CAP} to {focus.MAX_CAP}).",
        )
    if isinstance(command, focus.Checkin):
        return note(
            focus.describe_checkin(focus_list),
            "Change it with `/focus checkin &lt;day&gt; &lt;HH:MM&gt; [timezone]` "
            "or `/focus checkin off`.",
        )
    return note(
        f"Items in focus longer than {focus_list.stall_weeks} weeks count as stalled.",
        "The weekly focus check points them out. Change it with `/focus stall &lt;weeks&gt;`.",
    )


def _change_item(
    session: Session, focus_list: FocusList, actor: str, command: focus.Command, now: datetime
) -> Reply:
    assert isinstance(
        command, focus.Finish | focus.Drop | focus.Edit | focus.Move | focus.SetOwners
    )
    item = focus.item_at(session, focus_list, command.number)
    text = escape_keeping_mentions(item.text)
    if isinstance(command, focus.Finish):
        focus.finish(session, item, actor, now)
        headline = f"Finished “{text}”. :tada:"
    elif isinstance(command, focus.Drop):
        focus.drop(session, item, actor, now, command.reason)
        headline = f"Dropped “{text}”."
    elif isinstance(command, focus.Edit):
        focus.edit(session, item, actor, command.text, command.owners, now)
        headline = f"Item {command.number} now reads “{escape_keeping_mentions(item.text)}”."
    elif isinstance(command, focus.Move):
        focus.move(session, item, command.position, actor, now)
        headline = f"Moved “{text}” to position {command.position}."
    else:
        focus.set_owners(session, item, command.owners, actor, now)
        headline = f"“{text}” is now owned by {people(command.owners)}."
    return list_reply(session, focus_list, now, headline)


def _refusal(session: Session, caller: Caller, refusal: FocusError, now: datetime) -> Reply:
    focus_list = focus.find_list(session, caller)
    if not refusal.show_list or focus_list is None:
        return note(escape_keeping_mentions(refusal.message), HINT)
    view = focus.view_of(session, focus_list, now)
    return Reply(
        refusal.message,
        [section(escape_keeping_mentions(refusal.message)), *list_blocks(view, now)],
    )


def _history_reply(
    session: Session, focus_list: FocusList | None, weeks: int, timezone: str, now: datetime
) -> Reply:
    events = focus.history(session, focus_list, weeks, now) if focus_list else []
    span = "week" if weeks == 1 else f"{weeks} weeks"
    if not events:
        return note(f"Nothing was added, finished or dropped in the last {span}.", HINT)
    verbs = {"added": "added", "done": "finished", "dropped": "dropped"}
    tz = zone(timezone)
    lines = [
        f"{moment_text(event.at.astimezone(tz), year=False)} · "
        f"<@{event.actor_id}> {verbs[event.kind]} "
        f"“{escape_keeping_mentions(event.item_text)}”"
        + (f" — {escape(event.detail)}" if event.detail else "")
        for event in reversed(events)
    ]
    title = f"Focus history, last {span}"
    body = packed_sections(lines, HISTORY_SECTIONS, "…and {count} earlier changes.")
    blocks = [header(title), *body, context(f"Newest first. Times in {escape(timezone)}.")]
    return Reply(title, blocks)
