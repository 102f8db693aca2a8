"""What every listener and job shares: settings, database, clock, sections, matcher, background."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bot.common.digest import DigestSectionBuilder
from bot.pain import HttpEmbedder, Matcher, OnnxEmbedder
from bot.runtime import inbox
from bot.runtime.answering import CommandPool
from bot.runtime.background import Background
from bot.runtime.cache import ExpiringCache
from bot.runtime.settings import Settings
from storage.base import Workspace
from storage.db import connection_scope, session_scope

HomeSection = Callable[["Services", Workspace, str], Sequence[Any]]


@dataclass
class Services:
    """Shared by every listener and job of one focusbot."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    home_sections: list[HomeSection] = field(default_factory=list)
    digest_sections: list[DigestSectionBuilder] = field(default_factory=list)
    # A workspace's Web API client, for work outside a request (the Home tab, scheduled posts).
    slack_client: Callable[[Workspace], WebClient] | None = None
    cache: ExpiringCache = field(default_factory=ExpiringCache)
    pain_matcher: Matcher = field(default_factory=Matcher)
    background: Background = field(default_factory=Background)
    # Where slash commands do their work; None runs them in the request (the console waits).
    commands: CommandPool | None = None
    # The slash command these services answer (`for_command`), taken with its first transaction.
    command_key: str | None = None
    _command_taken: bool = field(default=False, init=False)

    def for_command(self, key: str) -> "Services":
        """Return these services for one slash command, whose key its first session records.

        The key goes in with the command's own changes, in the same transaction, instead of in
        one of its own before them; a repeat of the command raises RepeatedRequest there.
        """
        return replace(self, command_key=key)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session that commits on success and rolls back on failure."""
        with session_scope(self.engine) as session:
            taking = self.command_key is not None and not self._command_taken
            if taking:
                assert self.command_key is not None
                if not inbox.first_sighting(session.connection(), self.command_key, self.now()):
                    raise inbox.RepeatedRequest(self.command_key)
            yield session
        if taking:
            self._command_taken = True  # committed; a rolled back session leaves it to the next

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Open a bare connection in a transaction, for a statement or two without the ORM."""
        with connection_scope(self.engine) as connection:
            yield connection

    def now(self) -> datetime:
        """Return the current time, aware, in UTC."""
        return self.clock()


def pain_matcher_for(settings: Settings) -> Matcher:
    """Return the pain matcher the settings ask for: a model on disk, an endpoint, or words."""
    if settings.pain_model_path is not None:
        return Matcher(OnnxEmbedder(settings.pain_model_path))
    if settings.pain_embeddings_url is not None:
        key = settings.pain_embeddings_api_key
        return Matcher(
            HttpEmbedder(
                settings.pain_embeddings_url,
                settings.pain_embeddings_model,
                key.get_secret_value() if key is not None else None,
                timeout=settings.pain_embeddings_timeout_seconds,
                batch_size=settings.pain_embeddings_batch_size,
            )
        )
    return Matcher()
