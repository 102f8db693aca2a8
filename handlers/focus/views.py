"""Render a focus list in Block Kit: its items, their owners and their Done / Drop buttons."""

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject
from sqlmodel import Session

from bot import focus
from bot.focus import ListView
from handlers.blocks import context, cut, escape_keeping_mentions, section
from handlers.slack import Reply
from storage.focus import FocusList

DONE_ACTION, DROP_ACTION, ADD_ACTION = "focus_done", "focus_drop", "focus_add"


def list_reply(session: Session, focus_list: FocusList, now: datetime, headline: str) -> Reply:
    """Return the list under a headline saying what just changed."""
    view = focus.view_of(session, focus_list, now)
    return Reply(headline, [section(headline), *list_blocks(view, now)])


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
                f"*{item.number}.* {escape_keeping_mentions(item.text)}\n"
                f"{people(item.owners)} · in focus {focus.in_focus_for(item.in_focus)}{stalled}"
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
                    text=f"“{escape_keeping_mentions(label)}” leaves the list.",
                    confirm="Drop",
                    deny="Keep",
                ),
            ),
        ],
    )


def summary(view: ListView) -> str:
    """Say what is on the list in one line of plain text, for notifications."""
    if not view.items:
        return "Nothing in focus yet."
    return "Focus: " + "; ".join(f"{item.number}. {item.text}" for item in view.items)


def people(user_ids: tuple[str, ...]) -> str:
    """Mention these people, or say there is no owner."""
    return ", ".join(f"<@{user_id}>" for user_id in user_ids) or "no owner"
