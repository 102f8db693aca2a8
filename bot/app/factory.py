"""The app factory: one place wires settings, database, Slack app, listeners and scheduler."""

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from re import Pattern
from typing import Any

from pydantic import SecretStr
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener import Listener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware import Middleware
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request.payload_utils import is_slash_command
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy.engine import Engine

import handlers
from bot import maker
from bot.app.intake import read_form_as_sent
from bot.common.outbox import forget_finished_posts
from bot.runtime import inbox, metrics
from bot.runtime.answering import CommandPool, command_threads
from bot.runtime.manifest import bot_scopes
from bot.runtime.scheduler import Scheduler
from bot.runtime.services import Services, pain_matcher_for
from bot.runtime.settings import Settings
from handlers import home, installs
from handlers.slack import error_handler, request_problem
from storage.base import Workspace, utcnow
from storage.db import make_engine
from storage.installations import installation_store, oauth_state_store

log = logging.getLogger(__name__)


class MeasuredApp(App):
    """Bolt's app, counting each request it answers and timing the answer (both modes)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._listener_runner = CommandsOnRequestThread(self._listener_runner)
        self._commands_registered = 0

    def command(
        self,
        command: str | Pattern[str],
        matchers: Sequence[Callable[..., bool]] | None = None,
        middleware: Sequence[Callable[..., Any] | Middleware] | None = None,
    ) -> Callable[..., Callable[..., BoltResponse | None] | None]:
        """Register a slash command's listener ahead of the clicks, modals and events.

        Bolt asks each listener in turn whether a request is its own (a dozen before `/maker`);
        a slash command is nothing else's, so the commands are asked first, and by a matcher
        that reads the command's name instead of working out a function's arguments.
        """
        register = super().command(command, matchers, middleware)

        def register_ahead(*functions: Any, **named: Any) -> Any:
            registered = register(*functions, **named)
            listener = self._listeners.pop()
            listener.matchers = [SlashCommandMatcher(command), *listener.matchers[1:]]  # not Bolt's
            self._listeners.insert(self._commands_registered, listener)
            self._commands_registered += 1
            return registered

        return register_ahead

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Answer a request as Bolt does; record its name, outcome and latency since it arrived."""
        started = req.context.setdefault("arrived_at", time.perf_counter())
        read_form_as_sent(req)
        response = super().dispatch(req)
        metrics.observe_answer(req.body, response.status, time.perf_counter() - started)
        return response


class SlashCommandMatcher(ListenerMatcher):
    """Tell whether a request is this slash command, as Bolt's matcher does, at a lookup's cost."""

    def __init__(self, command: str | Pattern[str]) -> None:
        self.command = command

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        """Match the command's name: the same text, or the pattern found in it."""
        name = req.body.get("command") if is_slash_command(req.body) else None
        if not isinstance(name, str):
            return False
        if isinstance(self.command, str):
            return name == self.command
        return self.command.search(name) is not None


class CommandsOnRequestThread(ThreadListenerRunner):
    """Bolt's listener runner, except that a slash command's listener runs on the request's thread.

    Bolt hands a listener to its executor and looks for the acknowledgement every 10 ms. A slash
    command's listener keeps Slack's three seconds on its own (`handlers.slack.in_time`), so it is
    run at once and its answer returned the moment it is given: no thread hop, no polling. Events,
    clicks and modals are acknowledged first and run afterwards, as Bolt does.
    """

    def __init__(self, runner: ThreadListenerRunner) -> None:
        super().__init__(
            process_before_response=runner.process_before_response, **_parts_of(runner)
        )

    def run(
        self,
        request: BoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: Listener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        """Run a listener: a slash command's before the response, anything else as Bolt does."""
        if self.process_before_response or not is_slash_command(request.body):
            return super().run(request, response, listener_name, listener, starting_time)
        # Built per command: app.error() may change the handlers.
        at_once = ThreadListenerRunner(process_before_response=True, **_parts_of(self))
        return at_once.run(request, response, listener_name, listener, starting_time)


def _parts_of(runner: ThreadListenerRunner) -> dict[str, Any]:
    """Return what a listener runner is built from, all but `process_before_response`."""
    return {
        "logger": runner.logger,
        "listener_error_handler": runner.listener_error_handler,
        "listener_start_handler": runner.listener_start_handler,
        "listener_completion_handler": runner.listener_completion_handler,
        "listener_executor": runner.listener_executor,
        "lazy_listener_runner": runner.lazy_listener_runner,
    }


@dataclass
class Focusbot:
    """A wired focusbot: the Bolt app, what its listeners share, and its scheduler."""

    app: App
    services: Services
    scheduler: Scheduler


def create_focusbot(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
    process_before_response: bool = False,
) -> Focusbot:
    """Wire a focusbot from its settings: one workspace's bot token, or OAuth installs."""
    services = Services(
        settings=settings,
        engine=engine or make_engine(settings.database_url, settings.database_connections),
        clock=clock,
        pain_matcher=pain_matcher_for(settings),
        commands=None if process_before_response else CommandPool(command_threads(settings)),
    )
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(
        token=None if settings.installs_in_many_workspaces else token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )
    oauth = _oauth_settings(settings, services.engine)
    app = MeasuredApp(
        client=client,
        signing_secret=_reveal(settings.slack_signing_secret),
        oauth_settings=oauth,
        process_before_response=process_before_response,
        logger=_bolt_logger(),
        # One listener thread per request thread: with fewer (Bolt's default is 5), requests
        # wait for a listener while Bolt's three seconds run, and fail with a 404.
        listener_executor=ThreadPoolExecutor(settings.web_threads, "focusbot-listener"),
    )
    app.middleware(TakeEachRequestOnce(services))
    app.error(error_handler(services))
    for feature in handlers.FEATURES:
        feature.register(app)
        services.home_sections.append(feature.home_section)
        services.digest_sections.extend(feature.DIGEST_SECTIONS)
    home.register(app)
    installs.register(app)
    deliverers = {
        kind: deliver for f in handlers.FEATURES for kind, deliver in f.DELIVERERS.items()
    }
    services.slack_client = _scheduler_clients(settings, client, oauth)
    scheduler = Scheduler(
        services,
        deliverers,
        services.slack_client,
        defer=maker.defer_many,
        lease=timedelta(seconds=settings.scheduler_lease_seconds),
        chores=[inbox.forget_old_requests, forget_finished_posts],
    )
    return Focusbot(app=app, services=services, scheduler=scheduler)


def _bolt_logger() -> logging.Logger:
    """Return Bolt's logger, without its warning that the client's token wins.

    The token reaches Bolt once, inside the client; Bolt also reads SLACK_BOT_TOKEN from the
    environment on its own and warns that it ignores it, which is what focusbot wants.
    """
    logger = logging.getLogger("focusbot.bolt")
    if not any(isinstance(known, _IgnoreEnvironmentToken) for known in logger.filters):
        logger.addFilter(_IgnoreEnvironmentToken())
    return logger


class _IgnoreEnvironmentToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _oauth_settings(settings: Settings, engine: Engine) -> OAuthSettings | None:
    if not settings.installs_in_many_workspaces:
        return None
    assert settings.slack_client_id is not None
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=_reveal(settings.slack_client_secret),
        scopes=list(bot_scopes()),
        installation_store=installation_store(settings.slack_client_id, engine),
        state_store=oauth_state_store(engine),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
    )


def _scheduler_clients(
    settings: Settings, client: WebClient, oauth: OAuthSettings | None
) -> Callable[[Workspace], WebClient]:
    """Return how the scheduler gets a workspace's client; it retries on its own schedule."""
    if oauth is None:
        single = WebClient(token=client.token, base_url=client.base_url, retry_handlers=[])
        return lambda _workspace: single
    store = oauth.installation_store
    rotator = TokenRotator(
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        client=WebClient(base_url=client.base_url),
    )

    def installed_client(workspace: Workspace) -> WebClient:
        bot = store.find_bot(
            enterprise_id=workspace.enterprise_id or None, team_id=workspace.team_id
        )
        if bot is None:
            raise LookupError(f"focusbot is not installed in workspace {workspace.team_id}")
        refreshed = rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=120)
        if refreshed is not None:
            store.save_bot(refreshed)
            bot = refreshed
        return WebClient(token=bot.bot_token, base_url=client.base_url, retry_handlers=[])

    return installed_client


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


class TakeEachRequestOnce(Middleware):
    """Give a request the services; refuse it when malformed, drop it when taken before.

    A slash command is taken by its listener's first transaction (`Services.for_command`, all
    its listeners run `handlers.slack.in_time`); anything else in a transaction of its own here.
    A middleware of its own class, not three functions: Bolt works out a function middleware's
    arguments anew for every request.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        """Pass the request on, or answer it here: 400 when malformed, empty when a repeat."""
        req.context["services"] = self.services
        problem = request_problem(req.body)
        if problem:
            log.warning("refused a malformed Slack request: %s", problem)
            return BoltResponse(status=400, body=problem)
        key = inbox.request_key(req.body)
        if key is not None and is_slash_command(req.body):
            req.context["services"] = self.services.for_command(key)
        elif key is not None:
            with self.services.connection() as connection:
                if not inbox.first_sighting(connection, key, self.services.now()):
                    return BoltResponse(status=200, body="")
        return next()
