"""Slack-facing glue shared by every feature: who asks, from where, and how to answer."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.common.caller import Caller
from bot.common.usage import UsageError
from bot.runtime.services import Services
from handlers.blocks import as_dicts, context, escape, fallback, fit, section
from storage.base import Workspace

log = logging.getLogger(__name__)
Command = TypeVar("Command")
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns


@dataclass
class Reply:
    """An answer to a person: shown only to them unless public."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    public: bool = False

    def as_message(self) -> dict[str, Any]:
        """Return the message fields Slack expects."""
        blocks = self.blocks or [section(self.text)]
        return {"text": fallback(self.text), "blocks": as_dicts(fit(blocks))}


def note(text: str, hint: str = "") -> Reply:
    """Return a short private answer, with an optional line of small print."""
    blocks: list[Block] = [section(text)]
    if hint:
        blocks.append(context(hint))
    return Reply(text, blocks)


def usage_reply(usage: str, problem: str = "", *more: Block) -> Reply:
    """Return a command's usage (`command — meaning` lines), after what was wrong, if anything."""
    lines = "\n".join(
        f"`{escape(command)}` — {escape(meaning)}"
        for command, meaning in (line.split(" — ", 1) for line in usage.splitlines())
    )
    text = f"{escape(problem)} Nothing was changed.\n\n{lines}" if problem else lines
    return Reply(text, [section(text), *more])


def usage_error_reply(error: UsageError, usage: Callable[[str], Reply]) -> Reply:
    """Say in one line what was wrong; the whole usage only for an unknown subcommand."""
    if error.show_usage:
        return usage(str(error))
    return note(f"{escape(str(error))} Nothing was changed.")


def answer_command(ack: Ack, respond: Callable[..., Any], reply: Reply) -> None:
    """Acknowledge a slash command with its answer: privately, or posted for everyone."""
    if reply.public:
        ack()
        respond(response_type="in_channel", **reply.as_message())
    else:
        ack(**reply.as_message())


def command_listener(
    parse: Callable[[str], Command],
    usage: Callable[[str], Reply],
    usage_error: type[UsageError],
    run: Callable[[Services, WebClient, Caller, Command], Reply],
) -> Callable[..., None]:
    """Return a slash command listener: parse the text, run it, answer within three seconds."""

    def on_command(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Callable[..., Any],
    ) -> None:
        caller = Caller(workspace_of(body, context), body["user_id"], body["channel_id"])
        try:
            command = parse(body.get("text") or "")
        except usage_error as error:
            answer_command(ack, respond, usage_error_reply(error, usage))
            return
        answer_command(ack, respond, run(services_of(context), client, caller, command))

    return on_command


def services_of(context: BoltContext) -> Services:
    """Return the services the app factory put in every request's context."""
    services = context["services"]
    assert isinstance(services, Services)
    return services


def workspace_of(body: dict[str, Any], context: BoltContext) -> Workspace:
    """Return the workspace a request comes from."""
    team_id = context.team_id or body.get("team_id") or (body.get("team") or {}).get("id") or ""
    enterprise_id = context.enterprise_id or body.get("enterprise_id") or ""
    return Workspace(team_id=team_id, enterprise_id=enterprise_id)


def timezone_fetcher(client: WebClient) -> Callable[[str], str | None]:
    """Return a function that asks Slack for a user's timezone (None when it cannot)."""

    def fetch(user_id: str) -> str | None:
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as error:
            log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
            return None
        tz = user.get("tz")
        return tz if isinstance(tz, str) and tz else None

    return fetch


def int_value(raw: object) -> int | None:
    """Read a button's value as an id; None for anything forged or malformed."""
    text = str(raw or "")
    if not text.isdecimal() or len(text) > 10:
        return None
    number = int(text)
    return number if number <= MAX_ID else None
