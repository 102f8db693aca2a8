"""The durable scheduler: deliver due posts from the outbox, once, retrying what is transient."""

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage import schedule
from storage.base import Workspace
from storage.db import session_scope
from storage.schedule import ScheduledPost

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
BATCH_SIZE = 200
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Deliverer(Protocol):
    """Post one due row to Slack; may schedule follow-ups in the same session."""

    def __call__(
        self, session: Session, post: ScheduledPost, client: WebClient, now: datetime
    ) -> None: ...


class DeferralRule(Protocol):
    """Tell until when a post due now in a channel should wait (None: deliver now)."""

    def __call__(
        self, session: Session, workspace: Workspace, channel_id: str, now: datetime
    ) -> datetime | None: ...


@dataclass(frozen=True)
class Failure:
    """Why a delivery failed, and whether trying again may help."""

    reason: str
    transient: bool
    retry_after: float = 0.0


@dataclass
class TickReport:
    """What one tick did."""

    sent: int = 0
    retried: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def schedule_post(
    session: Session,
    *,
    workspace: Workspace,
    channel_id: str,
    kind: str,
    due_at: datetime,
    key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
) -> ScheduledPost:
    """Put a post in the outbox; the same key never makes a second post."""
    existing = schedule.find_by_key(session, key)
    if existing is not None:
        if existing.state == schedule.CANCELLED:
            _revive(existing, due_at, payload)
        return existing
    post = ScheduledPost(
        enterprise_id=workspace.enterprise_id,
        team_id=workspace.team_id,
        channel_id=channel_id,
        kind=kind,
        payload=json.dumps(dict(payload or {})),
        due_at=due_at,
        next_attempt_at=due_at,
        idempotency_key=key,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(post)
    except IntegrityError:
        # Another request scheduled the same key a moment ago.
        found = schedule.find_by_key(session, key)
        assert found is not None
        return found
    return post


def _revive(post: ScheduledPost, due_at: datetime, payload: Mapping[str, Any] | None) -> None:
    post.state = schedule.PENDING
    post.due_at = post.next_attempt_at = due_at
    post.payload = json.dumps(dict(payload or {}))
    post.attempts = 0
    post.last_error = None


def cancel_pending(session: Session, workspace: Workspace, channel_id: str, kind: str) -> int:
    """Cancel the channel's pending posts of a kind; return how many."""
    posts = schedule.pending_posts(
        session, kind, workspace.team_id, workspace.enterprise_id, channel_id
    )
    for post in posts:
        post.state = schedule.CANCELLED
        session.add(post)
    return len(posts)


def payload_of(post: ScheduledPost) -> dict[str, Any]:
    """Return the post's payload."""
    loaded = json.loads(post.payload or "{}")
    return loaded if isinstance(loaded, dict) else {}


def classify(error: Exception) -> Failure:
    """Tell a transient Slack failure (retry) from a permanent one (give up)."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error", "")) if error.response.data else ""
        if status == 429:
            retry_after = float(error.response.headers.get("retry-after", 1) or 1)
            return Failure(
                f"rate limited by Slack (HTTP 429, retry after {retry_after:g}s)", True, retry_after
            )
        if status >= 500:
            return Failure(f"Slack answered HTTP {status}", True)
        if code in TRANSIENT_SLACK_ERRORS:
            return Failure(f"Slack said {code}", True)
        return Failure(f"Slack said {code or 'HTTP ' + str(status)}", False)
    if isinstance(error, URLError | HTTPException | OSError | TimeoutError):
        return Failure(f"network error: {type(error).__name__}", True)
    return Failure(f"internal error: {type(error).__name__}: {error}", False)


def backoff(attempts: int, retry_after: float) -> timedelta:
    """Wait longer after each failed attempt, never less than Slack asked for."""
    exponential = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=max(exponential, retry_after))


class Scheduler:
    """Deliver due rows of the outbox on every tick."""

    def __init__(
        self,
        engine: Engine,
        deliverers: Mapping[str, Deliverer],
        client_for: Callable[[Workspace], WebClient],
        clock: Callable[[], datetime],
        defer: DeferralRule | None = None,
    ) -> None:
        self.engine = engine
        self.defer = defer
        self.deliverers = dict(deliverers)
        self.client_for = client_for
        self.clock = clock
        self._background: BackgroundScheduler | None = None

    def tick(self) -> TickReport:
        """Deliver every due post once; a failure never holds back the others."""
        report = TickReport()
        for post_id in self._claim_due():
            self._deliver(post_id, report)
        return report

    def start(self, interval_seconds: float) -> None:
        """Tick in the background every interval."""
        background = BackgroundScheduler(timezone="UTC")
        background.add_job(
            self.tick,
            "interval",
            seconds=interval_seconds,
            id="deliver-due-posts",
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock(),
        )
        background.start()
        self._background = background

    def shutdown(self) -> None:
        """Stop ticking; a tick under way finishes first."""
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None

    def _claim_due(self) -> list[int]:
        now = self.clock()
        with session_scope(self.engine) as session:
            candidates = schedule.due_post_ids(session, now, BATCH_SIZE)
            return [
                post_id
                for post_id in candidates
                if schedule.claim(session, post_id, now, now + LEASE)
            ]

    def _deliver(self, post_id: int, report: TickReport) -> None:
        with session_scope(self.engine) as session:
            post = session.get(ScheduledPost, post_id)
            if post is None:
                return
            if self._deferred(session, post, report):
                return
            deliver = self.deliverers.get(post.kind)
            try:
                if deliver is None:
                    raise LookupError(f"no deliverer for kind {post.kind!r}")
                client = self.client_for(Workspace(post.team_id, post.enterprise_id))
                with session.begin_nested():
                    deliver(session, post, client, self.clock())
            except Exception as error:  # a failure must never stop the tick
                self._settle(post, classify(error), report)
            else:
                post.state = schedule.SENT
                post.sent_at = self.clock()
                post.lease_until = None
                post.last_error = None
                report.sent += 1
            session.add(post)

    def _deferred(self, session: Session, post: ScheduledPost, report: TickReport) -> bool:
        if self.defer is None:
            return False
        workspace = Workspace(post.team_id, post.enterprise_id)
        until = self.defer(session, workspace, post.channel_id, self.clock())
        if until is None or until <= self.clock():
            return False
        post.state, post.next_attempt_at, post.lease_until = schedule.PENDING, until, None
        post.attempts -= 1  # waiting for a meeting window is not a failed attempt
        session.add(post)
        report.deferred += 1
        return True

    def _settle(self, post: ScheduledPost, failure: Failure, report: TickReport) -> None:
        post.last_error = failure.reason[:500]
        post.lease_until = None
        report.errors.append(failure.reason)
        if failure.transient and post.attempts < MAX_ATTEMPTS:
            post.state = schedule.PENDING
            post.next_attempt_at = self.clock() + backoff(post.attempts, failure.retry_after)
            report.retried += 1
            log.warning("post %s will be retried: %s", post.id, failure.reason)
        else:
            post.state = schedule.FAILED
            report.failed += 1
            log.error("post %s failed: %s", post.id, failure.reason)
