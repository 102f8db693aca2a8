"""The app factory: one place wires settings, database, Slack app, listeners and scheduler."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy.engine import Engine

import handlers
from bot.scheduler import Scheduler
from bot.services import Services
from bot.settings import Settings
from handlers import home
from storage.base import Workspace, utcnow
from storage.db import make_engine


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
    """Wire a focusbot from its settings."""
    services = Services(
        settings=settings, engine=engine or make_engine(settings.database_url), clock=clock
    )
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )
    app = App(
        client=client,
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        process_before_response=process_before_response,
        logger=logging.getLogger("focusbot.bolt"),
    )
    app.middleware(_provide(services))
    for feature in handlers.FEATURES:
        feature.register(app)
        services.home_sections.append(feature.home_section)
        services.digest_sections.extend(feature.DIGEST_SECTIONS)
    home.register(app)
    deliverers = {
        kind: deliver for f in handlers.FEATURES for kind, deliver in f.DELIVERERS.items()
    }
    # The scheduler retries on its own schedule (backoff, Retry-After), never inline in a tick.
    scheduler_client = WebClient(token=client.token, base_url=client.base_url, retry_handlers=[])
    scheduler = Scheduler(services.engine, deliverers, _client_for(scheduler_client), clock)
    return Focusbot(app=app, services=services, scheduler=scheduler)


def _provide(services: Services) -> Callable[..., Any]:
    def provide_services(context: BoltContext, next: Callable[[], Any]) -> Any:
        context["services"] = services
        return next()

    return provide_services


def _client_for(client: WebClient) -> Callable[[Workspace], WebClient]:
    def client_for(_workspace: Workspace) -> WebClient:
        return client

    return client_for
