"""`/focus`, its buttons, its Home section and its weekly check, in Slack."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from bot.common.digest import DigestSectionBuilder
from bot.common.mentions import plain_text
from bot.common.outbox import payload_of
from bot.common.people import timezone_of
from bot.common.recurrence import zone
from bot.focus import lists as focus
from bot.focus.lists import Caller, Checkin, FocusError, ListView, UsageError
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers import home
from handlers.blocks import (
    MAX_VIEW_BLOCKS,
    as_dicts,
    context,
    cut,
    escape,
    fit,
    header,
    packed_sections,
    section,
)
from handlers.slack import (
    Reply,
    command_listener,
    int_value,
    note,
    services_of,
    timezone_fetcher,
    usage_reply,
    workspace_of,
)
from storage import focus as store
from storage.base import Workspace
from storage.focus import FocusList
from storage.schedule import ScheduledPost

COMMAND = "/focus"
DONE_ACTION, DROP_ACTION, ADD_ACTION = "focus_done", "focus_drop", "focus_add"
ADD_VIEW = "focus_add_view"
ADD_TEXT_BLOCK, ADD_OWNERS_BLOCK = "focus_add_text", "focus_add_owners"
HOME_LIST_LIMIT = 5
HISTORY_SECTIONS = 40
HINT = "Type `/focus help` for every command."


def register(app: App) -> None:
    """Register the `/focus` command, its buttons and its modal."""
    app.command(COMMAND)(command_listener(focus.parse_command, usage, UsageError, run))
    app.action(DONE_ACTION)(on_done_clicked)
    app.action(DROP_ACTION)(on_drop_clicked)
    app.action(ADD_ACTION)(on_add_clicked)
    app.view(ADD_VIEW)(on_add_submitted)


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(focus.USAGE, problem)


def run(services: Services, client: WebClient, caller: Caller, command: focus.Command) -> Reply:
    """Carry out a parsed command; a refusal changes nothing and says why."""
    now = services.now()
    try:
        with services.session() as session:
            return _carry_out(session, client, caller, command, now)
    except FocusError as refusal:
        with services.session() as session:
            return _refusal(session, caller, refusal, now)


def _carry_out(
    session: Session, client: WebClient, caller: Caller, command: focus.Command, now: datetime
) -> Reply:
    if isinstance(command, focus.Help):
        return usage()
    focus_list = focus.find_list(session, caller)
    if isinstance(command, focus.ShowList | focus.Share):
        view = (
            focus.view_of(session, focus_list, now) if focus_list else focus.empty_view(caller, now)
        )
        return Reply(
            _summary(view), list_blocks(view, now), public=isinstance(command, focus.Share)
        )
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
        return _list_reply(session, focus_list, now, f"Added “{escape(item.text)}”.")
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
    text = escape(item.text)
    if isinstance(command, focus.Finish):
        focus.finish(session, item, actor, now)
        headline = f"Finished “{text}”. :tada:"
    elif isinstance(command, focus.Drop):
        focus.drop(session, item, actor, now, command.reason)
        headline = f"Dropped “{text}”."
    elif isinstance(command, focus.Edit):
        focus.edit(session, item, actor, command.text, command.owners, now)
        headline = f"Item {command.number} now reads “{escape(item.text)}”."
    elif isinstance(command, focus.Move):
        focus.move(session, item, command.position, actor, now)
        headline = f"Moved “{text}” to position {command.position}."
    else:
        focus.set_owners(session, item, command.owners, actor, now)
        headline = f"“{text}” is now owned by {_people(command.owners)}."
    return _list_reply(session, focus_list, now, headline)


def _refusal(session: Session, caller: Caller, refusal: FocusError, now: datetime) -> Reply:
    focus_list = focus.find_list(session, caller)
    if not refusal.show_list or focus_list is None:
        return note(escape(refusal.message), HINT)
    view = focus.view_of(session, focus_list, now)
    return Reply(refusal.message, [section(escape(refusal.message)), *list_blocks(view, now)])


def _list_reply(session: Session, focus_list: FocusList, now: datetime, headline: str) -> Reply:
    view = focus.view_of(session, focus_list, now)
    return Reply(headline, [section(headline), *list_blocks(view, now)])


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
        f"{event.at.astimezone(tz):%a %d %b %H:%M} · <@{event.actor_id}> {verbs[event.kind]} "
        f"“{escape(event.item_text)}”" + (f" — {escape(event.detail)}" if event.detail else "")
        for event in reversed(events)
    ]
    title = f"Focus history, last {span}"
    body = packed_sections(lines, HISTORY_SECTIONS, "…and {count} earlier changes.")
    blocks = [header(title), *body, context(f"Newest first. Times in {escape(timezone)}.")]
    return Reply(title, blocks)


def list_blocks(view: ListView, now: datetime, *, buttons: bool = True) -> list[Block]:
    """Render a list: numbered items, owners, time in focus, and Done / Drop buttons."""
    focus_list = view.focus_list
    where = "your personal list" if focus_list.is_personal else f"<#{focus_list.channel_id}>"
    blocks: list[Block] = [section(f"*Focus* · {where}")]
    if not view.items:
        blocks.append(
            section("_Nothing in focus yet._ Add the first thing with `/focus add &lt;text&gt;`.")
        )
    for item in view.items:
        stalled = (
            f" · :hourglass: stalled ({focus_list.stall_weeks}+ weeks)" if item.stalled else ""
        )
        blocks.append(
            section(
                f"*{item.number}.* {escape(item.text)}\n"
                f"{_people(item.owners)} · in focus {focus.in_focus_for(item.in_focus)}{stalled}"
            )
        )
        if buttons:
            blocks.append(_item_buttons(item))
    room = "full: finish or drop something before adding" if view.is_full else "room for more"
    blocks.append(context(f"{len(view.items)} of {focus_list.cap} · {room}"))
    return blocks


def _item_buttons(item: focus.ItemView) -> ActionsBlock:
    label = cut(item.text, 60)
    return ActionsBlock(
        block_id=f"focus_item_{item.item_id}",
        elements=[
            ButtonElement(
                text="Done", action_id=DONE_ACTION, value=str(item.item_id), style="primary"
            ),
            ButtonElement(
                text="Drop",
                action_id=DROP_ACTION,
                value=str(item.item_id),
                confirm=ConfirmObject(
                    title="Drop this item?",
                    text=f"“{escape(label)}” leaves the list.",
                    confirm="Drop",
                    deny="Keep",
                ),
            ),
        ],
    )


def _summary(view: ListView) -> str:
    if not view.items:
        return "Nothing in focus yet."
    return "Focus: " + "; ".join(f"{item.number}. {item.text}" for item in view.items)


def _people(user_ids: tuple[str, ...]) -> str:
    return ", ".join(f"<@{user_id}>" for user_id in user_ids) or "no owner"


def on_done_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Finish the clicked item and update the message or Home tab in place."""
    ack()
    _on_item_clicked(body, action, client, context, respond, focus.finish, "finished")


def on_drop_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Drop the clicked item and update the message or Home tab in place."""
    ack()
    _on_item_clicked(body, action, client, context, respond, focus.drop, "dropped")


def _on_item_clicked(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
    change: Callable[[Session, Any, str, datetime], None],
    verb: str,
) -> None:
    services = services_of(context)
    workspace = workspace_of(body, context)
    actor = body["user"]["id"]
    now = services.now()
    item_id = int_value(action.get("value"))
    list_id: int | None = None
    try:
        with services.session() as session:
            item = focus.open_item(session, workspace, item_id or 0)
            list_id = item.list_id
            change(session, item, actor, now)
            headline = f"<@{actor}> {verb} “{escape(item.text)}”."
    except FocusError as refusal:
        headline = escape(refusal.message)
        if item_id is not None:
            with services.session() as session:
                gone = store.get_item(session, workspace, item_id)
                list_id = gone.list_id if gone else None
    if (body.get("container") or {}).get("type") == "view":
        home.publish(client, services, workspace, actor)
        return
    _update_message(services, workspace, list_id, headline, respond)


def _update_message(
    services: Services,
    workspace: Workspace,
    list_id: int | None,
    headline: str,
    respond: Callable[..., Any],
) -> None:
    now = services.now()
    with services.session() as session:
        focus_list = store.get_list(session, workspace, list_id) if list_id else None
        if focus_list is None:
            respond(replace_original=False, response_type="ephemeral", text=headline)
            return
        reply = _list_reply(session, focus_list, now, headline)
    respond(replace_original=True, **reply.as_message())


def on_add_clicked(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Open the modal that adds an item to the list the button belongs to."""
    ack()
    client.views_open(
        trigger_id=body["trigger_id"], view=add_modal(int_value(action.get("value")) or 0)
    )


def add_modal(list_id: int) -> View:
    """Return the modal that adds an item: its text and, optionally, its owners."""
    return View(
        type="modal",
        callback_id=ADD_VIEW,
        title=PlainTextObject(text="Add to focus"),
        submit=PlainTextObject(text="Add"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"list_id": list_id}),
        blocks=[
            InputBlock(
                block_id=ADD_TEXT_BLOCK,
                label="What the team focuses on",
                element=PlainTextInputElement(action_id="text", max_length=focus.MAX_ITEM_LENGTH),
            ),
            InputBlock(
                block_id=ADD_OWNERS_BLOCK,
                label="Owners (you, if nobody is picked)",
                optional=True,
                element=UserMultiSelectElement(action_id="owners"),
            ),
        ],
    )


def on_add_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Add the item from the modal; show what is wrong inside the modal instead."""
    services = services_of(context)
    workspace = workspace_of(body, context)
    actor = body["user"]["id"]
    values = (view.get("state") or {}).get("values") or {}
    text = plain_text(
        str(((values.get(ADD_TEXT_BLOCK) or {}).get("text") or {}).get("value") or "")
    )
    owners = tuple(
        (((values.get(ADD_OWNERS_BLOCK) or {}).get("owners") or {}).get("selected_users")) or ()
    )
    list_id = _metadata_list_id(view.get("private_metadata"))
    error = _modal_text_error(text)
    if error:
        ack(response_action="errors", errors={ADD_TEXT_BLOCK: error})
        return
    now = services.now()
    try:
        with services.session() as session:
            focus_list = store.get_list(session, workspace, list_id or 0)
            if focus_list is None:
                raise FocusError("That list is not in this workspace any more.")
            focus.add_item(session, focus_list, actor, text, owners, now)
    except FocusError as refusal:
        ack(response_action="errors", errors={ADD_TEXT_BLOCK: cut(refusal.message, 150)})
        return
    ack()
    home.publish(client, services, workspace, actor)


def _metadata_list_id(raw: object) -> int | None:
    try:
        loaded = json.loads(str(raw or ""))
    except ValueError:
        return None
    return int_value(loaded.get("list_id")) if isinstance(loaded, dict) else None


def _modal_text_error(text: str) -> str:
    if not text:
        return "Say what the item is."
    if len(text) > focus.MAX_ITEM_LENGTH:
        return f"Keep it to {focus.MAX_ITEM_LENGTH} characters."
    return ""


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the focus lists the person takes part in, with buttons and an Add button."""
    now = services.now()
    blocks: list[Block] = [header("Focus")]
    with services.session() as session:
        lists = focus.lists_of_person(session, workspace, user_id)
        views = [focus.view_of(session, focus_list, now) for focus_list in lists[:HOME_LIST_LIMIT]]
    if not views:
        blocks.append(
            section(
                "You're on no focus list yet. "
                "Start one in a team channel with `/focus add &lt;text&gt;`."
            )
        )
    for view in views:
        blocks += list_blocks(view, now)
        if not view.is_full:
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Add", action_id=ADD_ACTION, value=str(view.focus_list.id)
                        )
                    ]
                )
            )
        blocks.append(DividerBlock())
    if len(lists) > HOME_LIST_LIMIT:
        blocks.append(
            context(
                f"…and {len(lists) - HOME_LIST_LIMIT} more lists. Use `/focus` in their channels."
            )
        )
    return blocks[:MAX_VIEW_BLOCKS]


def deliver_checkin(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Post the weekly focus check and schedule the next one."""
    now = services.now()
    workspace = Workspace(post.team_id, post.enterprise_id)
    list_id = int_value(payload_of(post).get("list_id")) or 0
    focus_list = store.get_list(session, workspace, list_id)
    if focus_list is None or focus_list.checkin_weekday is None:
        return
    view = focus.view_of(session, focus_list, now)
    client.chat_postMessage(
        channel=focus_list.channel_id,
        text=f"Weekly focus check. {_summary(view)}",
        blocks=as_dicts(fit(checkin_blocks(view, now))),
    )
    focus.schedule_next_checkin(session, focus_list, now)


def checkin_blocks(view: ListView, now: datetime) -> list[Block]:
    """Render the weekly focus check: stalled items first, then the list."""
    blocks: list[Block] = [header("Weekly focus check")]
    if view.stalled:
        weeks = view.focus_list.stall_weeks
        names = "\n".join(
            f"• *{item.number}.* {escape(item.text)} — in focus {focus.in_focus_for(item.in_focus)}"
            for item in view.stalled
        )
        blocks.append(
            section(
                f":hourglass: *Worth talking about:* in focus longer than {weeks} weeks\n{names}"
            )
        )
    return blocks + list_blocks(view, now)


DELIVERERS: dict[str, Deliverer] = {focus.CHECKIN_KIND: deliver_checkin}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (focus.digest_section,)
