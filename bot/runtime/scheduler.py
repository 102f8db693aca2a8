"""The durable scheduler: deliver due posts from the outbox, once, retrying what is transient."""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlmodel import Session

from bot.runtime import metrics
from bot.runtime.services import Services
from storage import schedule
from storage.base import Workspace
from storage.db import session_scope
from storage.schedule import ScheduledPost

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
OUTBOX_EVENT = "focusbot_outbox"
CHORES_EVERY = timedelta(hours=1)
MAX_ATTEMPTS = 10
BATCH_SIZE = 200
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Deliverer(Protocol):
    """Post one due row to Slack; may schedule follow-ups in the same session."""

    def __call__(
        self, session: Session, post: ScheduledPost, client: WebClient, services: Services
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
    if isinstance(error, LookupError):
        return Failure(str(error), False)
    if isinstance(error, URLError | HTTPException | OSError | TimeoutError):
        return Failure(f"network error: {type(error).__name__}", True)
    return Failure(f"internal error: {type(error).__name__}: {error}", False)


def backoff(attempts: int, retry_after: float) -> timedelta:
    """Wait longer after each failed attempt, never less than Slack asked for."""
    exponential = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=max(exponential, retry_after))


class OutboxClient(WebClient):
    """The client a deliverer posts with: each post carries its outbox key as message metadata.

    A post tried before may have reached Slack even though the attempt failed (a lost
    response, a crash before the row was marked sent). On such a retry the client first looks
    for the stamped message in the conversation and returns it instead of posting again.
    """

    def __init__(self, client: WebClient, post: ScheduledPost) -> None:
        super().__init__(token=client.token, base_url=client.base_url, retry_handlers=[])
        self.key = post.idempotency_key
        self.look_first = post.attempts > 1
        self.since = post.due_at - timedelta(minutes=1)
        self._posts = 0

    def chat_postMessage(self, *, channel: str, **kwargs: Any) -> SlackResponse:
        """Post once: stamp the message, and on a retry return the earlier one if it exists."""
        self._posts += 1
        stamp = {"key": self.key, "part": self._posts}
        if self.look_first and (earlier := self._earlier_post(channel, stamp)) is not None:
            return earlier
        metadata = {"event_type": OUTBOX_EVENT, "event_payload": stamp}
        return super().chat_postMessage(channel=channel, metadata=metadata, **kwargs)

    def _earlier_post(self, channel: str, stamp: dict[str, Any]) -> SlackResponse | None:
        try:
            conversation = channel
            if channel[:1] in ("U", "W"):
                conversation = self.conversations_open(users=channel)["channel"]["id"]
            history = self.conversations_history(
                channel=conversation,
                oldest=f"{self.since.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            )
        except SlackApiError as error:
            if classify(error).transient:
                raise  # try again later rather than risk a second post
            # Without history access (a missing scope, say) a post may repeat; it is never lost.
            reason = error.response.get("error")
            log.warning("cannot look for an earlier post of %s: %s", self.key, reason)
            return None
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == OUTBOX_EVENT
                and metadata.get("event_payload") == stamp
            ):
                data = {
                    "ok": True,
                    "channel": conversation,
                    "ts": message.get("ts"),
                    "message": message,
                }
                return SlackResponse(
                    client=self,
                    http_verb="POST",
                    api_url="chat.postMessage",
                    req_args={},
                    data=data,
                    headers={},
                    status_code=200,
                )
        return None


class Scheduler:
    """Deliver due rows of the outbox on every tick, then do the housekeeping chores."""

    def __init__(
        self,
        services: Services,
        deliverers: Mapping[str, Deliverer],
        client_for: Callable[[Workspace], WebClient],
        defer: DeferralRule | None = None,
        lease: timedelta = DEFAULT_LEASE,
        chores: Sequence[Callable[[Session, datetime], None]] = (),
    ) -> None:
        self.services = services
        self.engine = services.engine
        self.clock = services.clock
        self.chores = tuple(chores)
        self.defer = defer
        self.lease = lease
        self.deliverers = dict(deliverers)
        self.client_for = client_for
        self._background: BackgroundScheduler | None = None
        self._chores_done_at: datetime | None = None

    def tick(self) -> TickReport:
        """Deliver every due post once; a failure never holds back the others."""
        report = TickReport()
        while claimed := self._claim_due():
            for post_id in claimed:
                self._deliver(post_id, report)
        now = self.clock()
        if self._chores_done_at is None or now - self._chores_done_at >= CHORES_EVERY:
            with session_scope(self.engine) as session:
                for chore in self.chores:
                    chore(session, now)
            self._chores_done_at = now
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
                if schedule.claim(session, post_id, now, now + self.lease)
            ]

    def _deliver(self, post_id: int, report: TickReport) -> None:
        workspace = self._workspace_of(post_id)
        if workspace is None:
            return
        # Find the workspace's client before the delivery transaction: looking up (or
        # rotating) its token takes a database connection of its own.
        try:
            client: WebClient | Failure = self.client_for(workspace)
        except Exception as error:  # a failure must never stop the tick
            client = classify(error)
        with session_scope(self.engine) as session:
            post = session.get(ScheduledPost, post_id)
            if post is None:
                return
            metrics.post_due(post.kind)
            if self._deferred(session, post, report):
                return
            if isinstance(client, Failure):
                self._settle(post, client, report)
            else:
                self._attempt(session, post, client, report)
            session.add(post)

    def _workspace_of(self, post_id: int) -> Workspace | None:
        with session_scope(self.engine) as session:
            post = session.get(ScheduledPost, post_id)
            return Workspace(post.team_id, post.enterprise_id) if post is not None else None

    def _attempt(
        self, session: Session, post: ScheduledPost, client: WebClient, report: TickReport
    ) -> None:
        deliver = self.deliverers.get(post.kind)
        try:
            if deliver is None:
                raise LookupError(f"no deliverer for kind {post.kind!r}")
            with session.begin_nested():
                deliver(session, post, OutboxClient(client, post), self.services)
        except Exception as error:  # a failure must never stop the tick
            self._settle(post, classify(error), report)
        else:
            post.state, post.sent_at = schedule.SENT, self.clock()
            post.lease_until, post.last_error = None, None
            report.sent += 1
            metrics.post_delivered(post.kind, post.sent_at - post.due_at)

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
        metrics.post_deferred(post.kind)
        return True

    def _settle(self, post: ScheduledPost, failure: Failure, report: TickReport) -> None:
        post.last_error = failure.reason[:500]
        post.lease_until = None
        report.errors.append(failure.reason)
        if failure.transient and post.attempts < MAX_ATTEMPTS:
            post.state = schedule.PENDING
            post.next_attempt_at = self.clock() + backoff(post.attempts, failure.retry_after)
            report.retried += 1
            metrics.post_retried(post.kind)
            log.warning("post %s will be retried: %s", post.id, failure.reason)
        else:
            post.state = schedule.FAILED
            report.failed += 1
            metrics.post_failed(post.kind)
            log.error("post %s failed: %s", post.id, failure.reason)
