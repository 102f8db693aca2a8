"""Slack-facing glue shared by every feature: who asks, from where, and how to answer."""

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt import BoltContext, BoltResponse
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.common.caller import Caller
from bot.common.usage import UsageError
from bot.runtime import inbox
from bot.runtime.services import Services
from handlers.blocks import as_dicts, context, escape, fallback, fit, section
from storage.base import Workspace

log = logging.getLogger(__name__)
Command = TypeVar("Command")
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
Listener = Callable[..., None]
Message = dict[str, Any]
# Posting a late answer to response_url: attempts, and the pause before each retry.
RESPOND_ATTEMPTS = 3
RESPOND_RETRY_SECONDS = 1.0
_LATE_ANSWERS = itertools.count()


@dataclass
class Reply:
    """An answer to a person: shown only to them unless public."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    public: bool = False
    then: Callable[[], None] | None = None  # slow work to do once the answer has gone out

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
    if reply.then is not None:
        reply.then()


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

    return in_time(on_command)


def in_time(listener: Listener) -> Listener:
    """Wrap a slash command's listener so that Slack's three seconds never run out.

    The listener runs on the command pool. If it acknowledges within the budget (counted from
    the request's arrival), that acknowledgement is Slack's, as before; otherwise Slack gets an
    empty acknowledgement at once and the answer goes to the command's response_url when ready.
    Either way the answer is given once. Without a pool (the console) the listener runs as is.
    """

    def on_command(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Callable[..., Any],
    ) -> None:
        services = services_of(context)
        pool = services.commands
        if pool is None:
            try:
                listener(ack=ack, body=body, client=client, context=context, respond=respond)
            except inbox.RepeatedRequest:
                if ack.response is None:  # not answered yet
                    ack()
            return
        answer = _Answer(_late_poster(services, respond))

        def work() -> None:
            try:
                listener(ack=answer, body=body, client=client, context=context, respond=respond)
            except inbox.RepeatedRequest:
                pass  # taken before: Slack gets an empty acknowledgement, nothing more
            except Exception as error:
                if answer.fail(error):  # acknowledged already: Bolt's error handler cannot help
                    _forget(services, body)
                    log.error("a command failed: %s", type(error).__name__, exc_info=error)
            finally:
                answer.finish()

        pool.submit(work)
        answer.wait(pool.time_left(context.get("arrived_at", time.perf_counter())))
        given, error = answer.settle()
        if error is not None:
            raise error  # nothing acknowledged yet: Bolt's error handler apologises
        ack(**given)

    return on_command


class _Answer:
    """What a command's listener acknowledges: handed to Slack in time, or posted late."""

    def __init__(self, post: Callable[[Message], None]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._fields: dict[str, Any] | None = None
        self._error: Exception | None = None
        self._late = False

    def __call__(self, **fields: Any) -> None:
        """Acknowledge with these fields: kept for Slack's ack, or posted if it went out empty."""
        with self._lock:
            late, self._fields = self._late, fields
            self._done.set()
        if late and fields:
            self._post({"response_type": "ephemeral", **fields})

    def fail(self, error: Exception) -> bool:
        """Note that the listener failed; True when Slack was acknowledged already.

        A late failure before any answer posts an apology instead.
        """
        with self._lock:
            late, answered = self._late, self._fields is not None
            if not late and not answered:
                self._error = error
                self._done.set()
                return False
        if not answered:
            self._post({"response_type": "ephemeral", "text": SORRY})
        return True

    def finish(self) -> None:
        """Note that the listener returned (maybe without acknowledging)."""
        self._done.set()

    def wait(self, seconds: float | None) -> None:
        """Wait up to this long (None: as long as it takes) for the listener to answer or end."""
        self._done.wait(seconds)

    def settle(self) -> tuple[dict[str, Any], Exception | None]:
        """Decide once: the acknowledgement given in time, or an empty one (the rest is late)."""
        with self._lock:
            if self._fields is None and self._error is None:
                self._late = True
            return self._fields or {}, self._error


def _late_poster(services: Services, respond: Callable[..., Any]) -> Callable[[Message], None]:
    """Return how to post a late answer: at once, and again from background work if that fails."""

    def post(message: Message) -> None:
        def retry() -> None:
            for attempt in range(2, RESPOND_ATTEMPTS + 1):
                time.sleep(RESPOND_RETRY_SECONDS * (attempt - 1))
                if _posted(respond, message, attempt):
                    return
            log.error("gave up posting a late answer to response_url")

        if not _posted(respond, message, 1):
            services.background.submit(("late answer", next(_LATE_ANSWERS)), retry)

    return post


def _posted(respond: Callable[..., Any], message: Message, attempt: int) -> bool:
    """Post to the command's response_url; False after a network failure or Slack's."""
    try:
        response = respond(**message)
    except OSError as error:
        problem = type(error).__name__
    else:
        if response.status_code < 500 and response.status_code != 429:
            return True
        problem = f"status {response.status_code}"
    log.warning("posting to response_url failed (%s), attempt %d", problem, attempt)
    return False


def clicker(body: dict[str, Any], workspace: Workspace) -> Caller:
    """Return who clicked a button or sent a modal, and in which conversation ('' for Home)."""
    return Caller(workspace, body["user"]["id"], clicked_channel(body))


def clicked_channel(body: dict[str, Any]) -> str:
    """Return the conversation a button was clicked in ('' for the Home tab or a modal)."""
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    return str(channel.get("id") or container.get("channel_id") or "")


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


SLACK_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")  # what every id column can store
INTERACTIVE = frozenset(
    {"block_actions", "view_submission", "view_closed", "message_action", "shortcut"}
)
# The event fields each event listener relies on.
EVENT_IDS = {
    "app_home_opened": ("user",),
    "reaction_added": ("user",),
}
SORRY = "Something went wrong on focusbot's side; nothing was changed. Please try again."


def request_problem(body: dict[str, Any]) -> str:
    """Return what a listener would trip on in a signed request ('' when nothing)."""
    if "command" in body:
        required = {"user_id": body.get("user_id"), "channel_id": body.get("channel_id")}
    elif body.get("type") in INTERACTIVE:
        required = {"user.id": _field(body, "user", "id")}
        if body["type"] == "block_actions" and not _actions_ok(body.get("actions")):
            return "block_actions without a usable action"
    elif body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event without a type"
        required = {f"event.{name}": event.get(name) for name in EVENT_IDS.get(event["type"], ())}
    else:
        required = {}
    for name, value in required.items():
        if not _is_id(value):
            return f"missing or malformed {name}"
    for name, value in _optional_ids(body).items():
        if value not in (None, "") and not _is_id(value):
            return f"malformed {name}"
    return ""


def _field(body: dict[str, Any], outer: str, inner: str) -> Any:
    value = body.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _actions_ok(actions: Any) -> bool:
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    )


def _optional_ids(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": body.get("team_id"),
        "enterprise_id": body.get("enterprise_id"),
        "team.id": _field(body, "team", "id"),
        "enterprise.id": _field(body, "enterprise", "id"),
        "channel.id": _field(body, "channel", "id"),
        "user_id": body.get("user_id"),
        "channel_id": body.get("channel_id"),
    }


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and SLACK_ID.fullmatch(value) is not None


def error_handler(services: Services) -> Callable[..., BoltResponse | None]:
    """Return Bolt's handler of a listener's failure: log it, let Slack retry, apologise."""

    def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        _forget(services, body)
        if isinstance(error, PoolTimeout):
            log.error(
                "a listener waited too long for a database connection: all %d were busy; "
                "raise DATABASE_POOL_SIZE within the server's max_connections, see README",
                services.settings.database_connections,
            )
        else:
            log.error("a listener failed: %s", type(error).__name__, exc_info=error)
        if response is None:  # already acknowledged
            return None
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": SORRY})

    return on_error


def _forget(services: Services, body: Any) -> None:
    key = inbox.request_key(body) if isinstance(body, dict) else None
    if key is None:
        return
    try:
        with services.session() as session:
            inbox.forget_request(session, key)
    except SQLAlchemyError as error:
        log.warning("could not forget a failed request: %s", type(error).__name__)
