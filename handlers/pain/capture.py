"""Log a Slack message as a pain point, by message shortcut or by reaction."""

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import pain
from bot.common import digest
from bot.common.mentions import plain_text
from bot.common.outbox import payload_of, schedule_post
from bot.pain import PainError
from bot.runtime.scheduler import classify
from bot.runtime.services import Services
from handlers.blocks import cut, escape
from handlers.pain.views import HINT, logged_reply, user_timezone
from handlers.slack import Reply, note, services_of, workspace_of
from storage.base import Workspace
from storage.schedule import ScheduledPost

log = logging.getLogger(__name__)

LOG_SHORTCUT = "pain_log_message"
REACTION_CAPTURE_KIND = "pain.capture_reaction"

SessionOpener = Callable[[], AbstractContextManager[Session]]


def ensure_digest(
    session: Session,
    client: WebClient,
    workspace: Workspace,
    channel_id: str,
    user_id: str,
    now: datetime,
) -> None:
    """Give a team channel that logs pain points its weekly digest, once."""
    if channel_id.startswith("D"):
        return  # a direct message is no team channel
    digest.ensure_schedule(
        session,
        workspace,
        channel_id,
        lambda: user_timezone(session, client, workspace, user_id, now),
        now,
    )


def on_log_shortcut(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Log the message the shortcut was used on; its author is the reporter."""
    ack()
    services = services_of(context)
    workspace = workspace_of(body, context)
    message = body.get("message") or {}
    channel_id = (body.get("channel") or {}).get("id") or ""
    actor = body["user"]["id"]
    reply = _log_message(
        services, services.session, client, workspace, channel_id, message, actor, "shortcut"
    )
    respond(response_type="ephemeral", **reply.as_message())


def on_reaction_added(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Log a message as a pain point when someone reacts with the workspace's pain emoji."""
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    services = services_of(context)
    workspace = workspace_of(body, context)
    with services.session() as session:
        reaction = pain.settings_of(session, workspace).reaction
    if reaction is None or event.get("reaction") != reaction:
        return
    channel_id, ts, actor = (
        str(item.get("channel") or ""),
        str(item.get("ts") or ""),
        event.get("user") or "",
    )
    try:
        capture_reaction(services, services.session, client, workspace, channel_id, ts, actor)
    except SlackApiError as error:
        if not classify(error).transient:
            log.warning("could not read the reacted message: %s", error.response.get("error"))
            return
        # The event is acknowledged, so Slack will not retry it: the outbox will.
        with services.session() as session:
            _capture_later(session, services, workspace, channel_id, ts, actor)


def deliver_reaction_capture(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Log a reacted message Slack could not give at first; its failures go to the scheduler."""
    payload = payload_of(post)
    capture_reaction(
        services,
        lambda: _savepoint(session),
        client,
        Workspace(post.team_id, post.enterprise_id),
        post.channel_id,
        str(payload.get("ts") or ""),
        str(payload.get("actor") or ""),
    )


def capture_reaction(
    services: Services,
    open_session: SessionOpener,
    client: WebClient,
    workspace: Workspace,
    channel_id: str,
    ts: str,
    actor: str,
) -> None:
    """Read the reacted message, log it and tell the reactor; a failed read is raised."""
    message = _fetch_message(client, channel_id, ts)
    if message is None:
        return
    reply = _log_message(
        services, open_session, client, workspace, channel_id, message, actor, "reaction"
    )
    try:
        client.chat_postEphemeral(channel=channel_id, user=actor, **reply.as_message())
    except SlackApiError as error:
        log.warning(
            "could not confirm a pain point logged by reaction: %s", error.response.get("error")
        )


def _capture_later(
    session: Session,
    services: Services,
    workspace: Workspace,
    channel_id: str,
    ts: str,
    actor: str,
) -> None:
    now = services.now()
    schedule_post(
        session,
        workspace=workspace,
        channel_id=channel_id,
        kind=REACTION_CAPTURE_KIND,
        due_at=now,
        key=f"{REACTION_CAPTURE_KIND}:{workspace.enterprise_id}:{workspace.team_id}"
        f":{channel_id}:{ts}:{actor}",
        now=now,
        payload={"ts": ts, "actor": actor},
    )


def _fetch_message(client: WebClient, channel_id: str, ts: str) -> dict[str, Any] | None:
    found = client.conversations_history(channel=channel_id, latest=ts, inclusive=True, limit=1)
    messages = [m for m in found.get("messages") or [] if m.get("ts") == ts]
    if not messages:  # a reply in a thread is not in the channel's history
        found = client.conversations_replies(channel=channel_id, ts=ts, inclusive=True, limit=1)
        messages = [m for m in found.get("messages") or [] if m.get("ts") == ts]
    return messages[0] if messages else None


@contextmanager
def _savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


def _log_message(
    services: Services,
    open_session: SessionOpener,
    client: WebClient,
    workspace: Workspace,
    channel_id: str,
    message: dict[str, Any],
    actor: str,
    source: str,
) -> Reply:
    text = " ".join(plain_text(str(message.get("text") or "")).split())
    if not text:
        return note("That message has no text to log as a pain point.", HINT)
    ts = str(message.get("ts") or "")
    reporter = str(message.get("user") or actor)
    permalink = _permalink(client, channel_id, ts)
    now = services.now()
    try:
        with open_session() as session:
            logged = pain.log_pain(
                session,
                workspace,
                reporter,
                channel_id,
                cut(text, pain.MAX_TEXT_LENGTH),
                now,
                source=source,
                logged_by=actor,
                permalink=permalink,
                message_ts=ts or None,
                matcher=services.pain_matcher,
            )
            ensure_digest(session, client, workspace, channel_id, actor, now)
    except PainError as refusal:
        return note(escape(refusal.message), HINT)
    return logged_reply(logged)


def _permalink(client: WebClient, channel_id: str, ts: str) -> str | None:
    if not ts:
        return None
    try:
        link = client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except SlackApiError as error:
        log.warning("chat.getPermalink failed: %s", error.response.get("error"))
        return None
    return str(link) if link else None
