"""The durable scheduler: deliver due posts from the outbox, once, retrying what is transient."""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from itertools import islice
from typing import Any, Protocol
from urllib.error import URLError

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
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
DELIVERY_THREADS = 4
# A run of deliveries is settled (and committed) after this many posts or this long, whichever
# comes first: few statements per post, and no transaction held open for long.
SETTLE_EVERY = 50
SETTLE_SECONDS = 0.25
# chat.postMessage: about one message a second in a channel, short bursts allowed.
CHANNEL_BURST = 10
CHANNEL_INTERVAL = timedelta(seconds=1)
MAX_PACED_CHANNELS = 100_000
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Deliverer(Protocol):
    """Post one due row to Slack; may schedule follow-ups in the same session."""

    def __call__(
        self, session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None: ...


@dataclass(frozen=True)
class ReadAhead:
    """A deliverer that reads what many due posts of its kind need at once, then posts each.

    `prepare` reads for the posts a delivery transaction is about to take and returns the
    deliverer that posts them (and only them) from what it read.
    """

    prepare: Callable[[Session, Sequence[ScheduledPost], Services], Deliverer]

    def __call__(
        self, session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        """Read for one post and deliver it."""
        self.prepare(session, [post], services)(session, post, client, services)


class DeferralRule(Protocol):
    """Tell until when posts due now in some channels should wait; channels not named go now."""

    def __call__(
        self, session: Session, places: Collection[tuple[Workspace, str]], now: datetime
    ) -> Mapping[tuple[Workspace, str], datetime]: ...


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

    def add(self, other: "TickReport") -> None:
        """Count in what another part of the tick did."""
        self.sent += other.sent
        self.retried += other.retried
        self.deferred += other.deferred
        self.failed += other.failed
        self.errors += other.errors


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
    """Deliver due rows of the outbox on every tick, then do the housekeeping chores.

    A tick claims due posts in batches (one statement each, the rows with it), holds back those
    whose channel is in maker time, whose workspace Slack asked to wait, or whose channel has
    had its burst, and delivers the rest: workspaces in parallel, each workspace's posts in due
    order on one thread. Each delivery transaction first lets read-ahead deliverers read for all
    the posts it is about to take, so a kind's posts cost a few statements together rather than a
    few each. What became of the posts is written back in one statement per run of deliveries,
    in the transaction that holds the deliverers' own writes.
    """

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
        # SQLite lets one transaction of the process in at a time: threads would only queue.
        self.threads = 1 if self.engine.dialect.name == "sqlite" else DELIVERY_THREADS
        self.pace = Pace()
        self._background: BackgroundScheduler | None = None
        self._chores_done_at: datetime | None = None

    def tick(self) -> TickReport:
        """Deliver every due post once; a failure never holds back the others."""
        report = TickReport()
        clients: dict[Workspace, WebClient | Failure] = {}
        with ThreadPoolExecutor(self.threads, thread_name_prefix="deliver") as pool:
            while True:
                claimed, ready = self._claim_batch(report)
                if not claimed:
                    break
                runs = [
                    pool.submit(self._deliver_run, run, clients)
                    for run in _split_by_workspace(ready, self.threads)
                ]
                for run in runs:
                    report.add(run.result())
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

    def _claim_batch(self, report: TickReport) -> tuple[bool, list[ScheduledPost]]:
        """Claim a batch of due posts; give back those that must wait, return those to deliver."""
        now = self.clock()
        with session_scope(self.engine) as session:
            claimed = schedule.claim_due(session, now, now + self.lease, BATCH_SIZE)
            deferred = self._deferred(session, claimed, now)
            ready, waiting = [], []
            for post in claimed:
                metrics.post_due(post.kind)
                until = deferred.get(_place(post)) or self.pace.wait_until(post, now)
                if until is not None:
                    waiting.append(_released(post, until))
                else:
                    ready.append(post)
            schedule.settle(session, waiting)
        report.deferred += len(waiting)
        for outcome in waiting:
            metrics.post_deferred(outcome.post.kind)
        return bool(claimed), ready

    def _deferred(
        self, session: Session, posts: Sequence[ScheduledPost], now: datetime
    ) -> Mapping[tuple[Workspace, str], datetime]:
        if self.defer is None or not posts:
            return {}
        wanted = self.defer(session, {_place(post) for post in posts}, now)
        return {place: until for place, until in wanted.items() if until > now}

    def _deliver_run(
        self, posts: Sequence[ScheduledPost], clients: dict[Workspace, WebClient | Failure]
    ) -> TickReport:
        """Deliver posts in order, settling them every few posts in the deliverers' transaction."""
        report = TickReport()
        for workspace in dict.fromkeys(_workspace(post) for post in posts):
            if workspace not in clients:
                # Looking up (or rotating) a token takes a database connection of its own:
                # never inside a delivery transaction.
                clients[workspace] = self._client(workspace)
        queue = deque(posts)
        while queue:
            outcomes = self._deliver_some(queue, clients)
            report.add(_tally(outcomes))
        return report

    def _client(self, workspace: Workspace) -> WebClient | Failure:
        try:
            return self.client_for(workspace)
        except Exception as error:  # a failure must never stop the tick
            return classify(error)

    def _deliver_some(
        self, queue: deque[ScheduledPost], clients: Mapping[Workspace, WebClient | Failure]
    ) -> list[schedule.Outcome]:
        """Deliver posts from the queue's front in one transaction and settle them in it."""
        outcomes: list[schedule.Outcome] = []
        with session_scope(self.engine) as session:
            deliverers = self._read_ahead(session, list(islice(queue, SETTLE_EVERY)))
            started = time.monotonic()
            writes = _Writes(session)
            while queue and len(outcomes) < SETTLE_EVERY:
                if time.monotonic() - started > SETTLE_SECONDS:
                    break
                post = queue.popleft()
                client = clients[_workspace(post)]
                blocked = self.pace.workspace_blocked_until(post, self.clock())
                if blocked is not None:
                    outcomes.append(_released(post, blocked))
                elif isinstance(client, Failure):
                    outcomes.append(self._failed(post, client))
                else:
                    before = writes.count
                    failure = self._attempt(session, post, client, deliverers)
                    if failure is None:
                        outcomes.append(self._sent(post))
                    elif writes.count == before and not writes.pending():
                        outcomes.append(self._failed(post, failure))
                    else:
                        outcomes = self._undo(session, outcomes, post, failure)
                        break
            schedule.settle(session, outcomes)
        return outcomes

    def _read_ahead(
        self, session: Session, posts: Sequence[ScheduledPost]
    ) -> Mapping[str, Deliverer]:
        """Let each read-ahead deliverer read for its posts among these; return every kind's."""
        deliverers = dict(self.deliverers)
        for kind, deliver in self.deliverers.items():
            mine = [post for post in posts if post.kind == kind]
            if not isinstance(deliver, ReadAhead) or not mine:
                continue
            try:
                deliverers[kind] = deliver.prepare(session, mine, self.services)
            except Exception:  # each post then reads for itself, and fails on its own
                log.exception("could not read ahead for %d %s posts", len(mine), kind)
                session.rollback()  # nothing is written yet: only a failed read is undone
        return deliverers

    def _attempt(
        self,
        session: Session,
        post: ScheduledPost,
        client: WebClient,
        deliverers: Mapping[str, Deliverer],
    ) -> Failure | None:
        deliver = deliverers.get(post.kind)
        try:
            if deliver is None:
                raise LookupError(f"no deliverer for kind {post.kind!r}")
            deliver(session, post, OutboxClient(client, post), self.services)
            session.flush()
        except Exception as error:  # a failure must never stop the tick
            failure = classify(error)
            if failure.retry_after:
                self.pace.block_workspace(
                    post, self.clock() + timedelta(seconds=failure.retry_after)
                )
            return failure
        return None

    def _undo(
        self,
        session: Session,
        outcomes: list[schedule.Outcome],
        post: ScheduledPost,
        failure: Failure,
    ) -> list[schedule.Outcome]:
        """Roll back a failed delivery's writes with the transaction; deliver its posts again.

        The posts that reached Slack in the transaction go back to the queue as due now: their
        next attempt looks for the message first, so they are not posted twice, and their
        deliverers write their follow-ups again.
        """
        session.rollback()
        now = self.clock()
        again = [
            schedule.Outcome(done.post, schedule.PENDING, now, done.post.attempts)
            if done.state == schedule.SENT
            else done
            for done in outcomes
        ]
        return [*again, self._failed(post, failure)]

    def _sent(self, post: ScheduledPost) -> schedule.Outcome:
        now = self.clock()
        return schedule.Outcome(
            post, schedule.SENT, post.next_attempt_at, post.attempts, sent_at=now
        )

    def _failed(self, post: ScheduledPost, failure: Failure) -> schedule.Outcome:
        if failure.transient and post.attempts < MAX_ATTEMPTS:
            log.warning("post %s will be retried: %s", post.id, failure.reason)
            retry_at = self.clock() + backoff(post.attempts, failure.retry_after)
            state = schedule.PENDING
        else:
            log.error("post %s failed: %s", post.id, failure.reason)
            retry_at, state = post.next_attempt_at, schedule.FAILED
        return schedule.Outcome(post, state, retry_at, post.attempts, failure.reason[:500])


class Pace:
    """Slack's rate limits as this process sees them: bursts, 1 post/s a channel, Retry-After."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channel_free_at: dict[tuple[Workspace, str], datetime] = {}
        self._workspace_blocked: dict[Workspace, datetime] = {}

    def wait_until(self, post: ScheduledPost, now: datetime) -> datetime | None:
        """Take a turn in the post's channel; None when it may go now, else when it may."""
        blocked = self.workspace_blocked_until(post, now)
        if blocked is not None:
            return blocked
        place = _place(post)
        with self._lock:
            if len(self._channel_free_at) > MAX_PACED_CHANNELS:
                self._forget_idle(now)
            free_at = max(self._channel_free_at.get(place, now), now)
            if free_at - now >= CHANNEL_BURST * CHANNEL_INTERVAL:
                return free_at - (CHANNEL_BURST - 1) * CHANNEL_INTERVAL
            self._channel_free_at[place] = free_at + CHANNEL_INTERVAL
        return None

    def block_workspace(self, post: ScheduledPost, until: datetime) -> None:
        """Hold the post's workspace back until Slack lets it post again."""
        workspace = _workspace(post)
        with self._lock:
            self._workspace_blocked[workspace] = max(
                until, self._workspace_blocked.get(workspace, until)
            )

    def workspace_blocked_until(self, post: ScheduledPost, now: datetime) -> datetime | None:
        """Return until when Slack asked the post's workspace to wait, if it still must."""
        until = self._workspace_blocked.get(_workspace(post))
        return until if until is not None and until > now else None

    def _forget_idle(self, now: datetime) -> None:
        self._channel_free_at = {
            place: free_at for place, free_at in self._channel_free_at.items() if free_at > now
        }
        self._workspace_blocked = {
            workspace: until for workspace, until in self._workspace_blocked.items() if until > now
        }


class _Writes:
    """Count what a session writes, flushed or executed, to tell whether a failure left any."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.count = 0
        event.listen(session, "after_flush", self._flushed)
        event.listen(session, "do_orm_execute", self._executed)

    def pending(self) -> bool:
        """Tell whether changes wait in the session, not yet flushed."""
        return bool(self.session.new or self.session.dirty or self.session.deleted)

    def _flushed(self, *_: Any) -> None:
        self.count += 1

    def _executed(self, state: ORMExecuteState) -> None:
        if not state.is_select:
            self.count += 1


def _workspace(post: ScheduledPost) -> Workspace:
    return Workspace(post.team_id, post.enterprise_id)


def _place(post: ScheduledPost) -> tuple[Workspace, str]:
    return _workspace(post), post.channel_id


def _released(post: ScheduledPost, until: datetime) -> schedule.Outcome:
    """Give a post back to wait until a moment; waiting is not a failed attempt."""
    return schedule.Outcome(post, schedule.PENDING, until, post.attempts - 1, post.last_error)


def _split_by_workspace(posts: Sequence[ScheduledPost], parts: int) -> list[list[ScheduledPost]]:
    """Share posts among threads, each workspace on one of them, in due order on each."""
    thread_of: dict[Workspace, int] = {}
    runs: list[list[ScheduledPost]] = [[] for _ in range(parts)]
    for post in posts:
        workspace = _workspace(post)
        if workspace not in thread_of:
            thread_of[workspace] = len(thread_of) % parts
        runs[thread_of[workspace]].append(post)
    return [run for run in runs if run]


def _tally(outcomes: Sequence[schedule.Outcome]) -> TickReport:
    report = TickReport()
    for outcome in outcomes:
        kind = outcome.post.kind
        if outcome.state == schedule.SENT and outcome.sent_at is not None:
            report.sent += 1
            metrics.post_delivered(kind, outcome.sent_at - outcome.post.due_at)
        elif outcome.state == schedule.FAILED:
            report.failed += 1
            report.errors.append(outcome.last_error or "")
            metrics.post_failed(kind)
        elif outcome.attempts == outcome.post.attempts and outcome.last_error is not None:
            report.retried += 1
            report.errors.append(outcome.last_error)
            metrics.post_retried(kind)
        elif outcome.attempts < outcome.post.attempts:
            report.deferred += 1
            metrics.post_deferred(kind)
    return report
