"""The Done and Drop buttons on a list, and the Add button's modal."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from bot import focus
from bot.common.mentions import plain_text
from bot.focus import FocusError
from bot.runtime.services import Services
from handlers import home
from handlers.blocks import cut, escape_keeping_mentions, fallback
from handlers.focus.views import list_reply
from handlers.slack import clicker, int_value, services_of, workspace_of
from storage import focus as store
from storage.base import Workspace

ADD_VIEW = "focus_add_view"
ADD_TEXT_BLOCK, ADD_OWNERS_BLOCK = "focus_add_text", "focus_add_owners"


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
            focus_list = store.get_list(session, workspace, list_id)
            assert focus_list is not None  # open_item found the item in this workspace
            focus.check_may_change(session, focus_list, clicker(body, workspace))
            change(session, item, actor, now)
            headline = f"<@{actor}> {verb} “{escape_keeping_mentions(item.text)}”."
    except FocusError as refusal:
        headline = escape_keeping_mentions(refusal.message)
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
            respond(replace_original=False, response_type="ephemeral", text=fallback(headline))
            return
        reply = list_reply(session, focus_list, now, headline)
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
            focus.check_may_change(session, focus_list, clicker(body, workspace))
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
