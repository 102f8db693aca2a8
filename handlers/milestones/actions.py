"""The revisit reminder's buttons and the modals behind them."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from sqlmodel import Session

from bot import milestones
from bot.common.dates import day_text
from bot.common.mentions import plain_text
from bot.milestones import MilestoneError
from handlers.blocks import cut, escape, fallback, section
from handlers.milestones.views import (
    ACHIEVED_ACTION,
    APPROACH,
    CHECKIN,
    CONFIDENCE_BLOCK,
    DATE_BLOCK,
    ON_TRACK_ACTION,
    REASON_BLOCK,
    REVISIT,
    confidence_modal,
    local_time,
    move_modal,
)
from handlers.slack import clicked_channel, int_value, services_of, workspace_of
from storage import milestones as store
from storage.milestones import OPEN, Milestone


def on_confidence_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the confidence picker: On track (a revisit) or a check-in's update."""
    ack()
    mode = REVISIT if action.get("action_id") == ON_TRACK_ACTION else CHECKIN
    milestone = _clicked_milestone(body, action, context, respond)
    if milestone is not None:
        client.views_open(trigger_id=body["trigger_id"], view=confidence_modal(milestone, mode))


def on_approach_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the picker of one approach's chance, from a revisit reminder."""
    ack()
    milestone_id, _, number = str(action.get("value") or "").partition(":")
    milestone = _clicked_milestone(body, {"value": milestone_id}, context, respond)
    if milestone is None or milestone.id is None:
        return
    with services_of(context).session() as session:
        approach = store.approach_by_number(session, milestone.id, int_value(number) or 0)
    if approach is None or approach.state != OPEN:
        text = f"Approach {escape(number[:10])} of #{milestone.number} is no longer open."
        respond(replace_original=False, response_type="ephemeral", text=text)
        return
    client.views_open(
        trigger_id=body["trigger_id"], view=confidence_modal(milestone, APPROACH, approach)
    )


def on_move_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the modal that moves the clicked milestone's target."""
    ack()
    milestone = _clicked_milestone(body, action, context, respond)
    if milestone is not None:
        client.views_open(trigger_id=body["trigger_id"], view=move_modal(milestone))


def _clicked_milestone(
    body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Callable[..., Any]
) -> Milestone | None:
    services = services_of(context)
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(action.get("value")) or 0
            )
            milestones.check_clicked_on_its_board(session, milestone, clicked_channel(body))
            return milestone
    except MilestoneError as refusal:
        respond(replace_original=False, response_type="ephemeral", text=escape(refusal.message))
        return None


def on_end_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Mark the clicked milestone achieved or dropped and update the reminder in place."""
    ack()
    services = services_of(context)
    actor = body["user"]["id"]
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(action.get("value")) or 0
            )
            milestones.check_clicked_on_its_board(session, milestone, clicked_channel(body))
            name = f"#{milestone.number} “{escape(milestone.title)}”"
            if action.get("action_id") == ACHIEVED_ACTION:
                milestones.achieve(session, milestone, actor, now)
                headline = f"<@{actor}> marked {name} achieved. :tada:"
            else:
                milestones.drop(session, milestone, actor, now, "")
                headline = f"<@{actor}> dropped {name}."
    except MilestoneError as refusal:
        respond(replace_original=False, response_type="ephemeral", text=escape(refusal.message))
        return
    respond(replace_original=True, text=fallback(headline), blocks=[section(headline).to_dict()])


def on_confidence_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Record the picked confidence: an on-track revisit answer, or a check-in."""
    services = services_of(context)
    actor = body["user"]["id"]
    metadata = _metadata(view.get("private_metadata"))
    raw = str(
        ((_values(view, CONFIDENCE_BLOCK, "confidence").get("selected_option")) or {}).get("value")
        or ""
    )
    confidence = int(raw) if raw.isdecimal() and int(raw) <= 100 else None
    if confidence is None:
        ack(response_action="errors", errors={CONFIDENCE_BLOCK: "Pick a confidence."})
        return
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(metadata.get("milestone_id")) or 0
            )
            name = f"#{milestone.number} “{escape(milestone.title)}”"
            if metadata.get("mode") == APPROACH:
                number = int_value(metadata.get("approach")) or 0
                headline = _approach_answered(session, milestone, actor, number, confidence, now)
            elif metadata.get("mode") == CHECKIN:
                if confidence != milestone.confidence:
                    milestones.set_confidence(session, milestone, actor, confidence, now)
                headline = f"<@{actor}> checked in on {name}: {confidence}%."
            else:
                milestones.confirm_on_track(session, milestone, actor, confidence, now)
                board = store.board_of(session, milestone)
                due, _ = milestones.next_revisit(board, milestone)
                headline = (
                    f"<@{actor}> revisited {name}: on track at {confidence}%. "
                    f"Next revisit: {local_time(due, board.timezone)}."
                )
            channel = store.board_of(session, milestone).channel_id
    except MilestoneError as refusal:
        ack(response_action="errors", errors={CONFIDENCE_BLOCK: cut(refusal.message, 150)})
        return
    ack()
    _announce(client, channel, headline)


def on_move_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Move the target to the picked date; show what is wrong inside the modal instead."""
    services = services_of(context)
    actor = body["user"]["id"]
    metadata = _metadata(view.get("private_metadata"))
    picked = str(_values(view, DATE_BLOCK, "date").get("selected_date") or "")
    reason = str(_values(view, REASON_BLOCK, "reason").get("value") or "").strip()
    reason = plain_text(reason)[: milestones.MAX_REASON_LENGTH]
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(metadata.get("milestone_id")) or 0
            )
            board = store.board_of(session, milestone)
            target = milestones.resolve_target(board, picked, now)
            milestones.move_target(session, milestone, actor, target, now, reason=reason)
            why = f" — {escape(reason)}" if reason else ""
            headline = (
                f"<@{actor}> moved the target of #{milestone.number} “{escape(milestone.title)}” "
                f"to {day_text(target)}{why}."
            )
            channel = board.channel_id
    except MilestoneError as refusal:
        ack(response_action="errors", errors={DATE_BLOCK: cut(refusal.message, 150)})
        return
    ack()
    _announce(client, channel, headline)


def _approach_answered(
    session: Session, milestone: Milestone, actor: str, number: int, chance: int, now: datetime
) -> str:
    approach = store.approach_by_number(session, milestone.id or 0, number)
    if approach is None or approach.chance != chance:  # refused when the approach is gone
        milestones.set_approach_chance(session, milestone, actor, number, chance, now)
    name = f"#{milestone.number} “{escape(milestone.title)}”"
    return (
        f"<@{actor}> put approach {number} of {name} at {chance}%; "
        f"the milestone is at {milestone.confidence}%."
    )


def _announce(client: WebClient, channel: str, text: str) -> None:
    client.chat_postMessage(channel=channel, text=fallback(text), blocks=[section(text).to_dict()])


def _values(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    found = (values.get(block_id) or {}).get(action_id)
    return found if isinstance(found, dict) else {}


def _metadata(raw: object) -> dict[str, Any]:
    try:
        loaded = json.loads(str(raw or ""))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
