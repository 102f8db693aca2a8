"""Prometheus metrics: the requests focusbot answers, its scheduled posts, its calendar reads."""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

# Label values come from what focusbot itself declares (commands, action and callback ids, event
# types); anything longer is cut, so a forged request cannot make up many series.
MAX_NAME_LENGTH = 64
UNVERIFIED = "unverified"

REQUESTS = Counter(
    "focusbot_requests",
    "Requests from Slack that focusbot answered, by kind (command, action, view, shortcut, "
    "event, other), name (the slash command, action_id, callback_id or event type) and outcome "
    "(ok, unverified: a bad signature, unhandled, refused: another 4xx, error: a 5xx).",
    ["kind", "name", "outcome"],
)
ANSWER_SECONDS = Histogram(
    "focusbot_answer_seconds",
    "Seconds from receiving a request from Slack to answering it (Slack waits 3 at most), by kind.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
POSTS_DUE = Counter(
    "focusbot_scheduled_posts_due",
    "Scheduled posts the scheduler took up because they fell due (each attempt), by kind.",
    ["kind"],
)
POSTS_DELIVERED = Counter(
    "focusbot_scheduled_posts_delivered", "Scheduled posts delivered to Slack, by kind.", ["kind"]
)
POSTS_RETRIED = Counter(
    "focusbot_scheduled_posts_retried",
    "Scheduled post attempts that failed for a passing reason and will be tried again, by kind.",
    ["kind"],
)
POSTS_FAILED = Counter(
    "focusbot_scheduled_posts_failed",
    "Scheduled posts given up on (a permanent failure, or too many attempts), by kind.",
    ["kind"],
)
POSTS_DEFERRED = Counter(
    "focusbot_scheduled_posts_deferred",
    "Scheduled posts held back until the team's next meeting window, by kind.",
    ["kind"],
)
DELIVERY_LAG = Histogram(
    "focusbot_scheduled_post_delivery_lag_seconds",
    "Seconds between a scheduled post's due time and its delivery, by kind "
    "(retries and meeting-window waits included).",
    ["kind"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)
CALENDAR_POLLS = Counter(
    "focusbot_calendar_polls",
    "Readings of linked calendars, by outcome (ok, failed: the feed could not be read).",
    ["outcome"],
)


SOCKET_CONNECTED = Gauge(
    "focusbot_socket_mode_connected",
    "1 while focusbot's Socket Mode connection to Slack is open, else 0.",
)
SOCKET_LAST_RECONNECT = Gauge(
    "focusbot_socket_mode_last_reconnect_timestamp_seconds",
    "When focusbot last reconnected to Slack over Socket Mode, in Unix time (0: not yet).",
)
SOCKET_RECONNECTS = Counter(
    "focusbot_socket_mode_reconnects",
    "Times focusbot reconnected to Slack over Socket Mode (a dropped line, a refresh Slack asked).",
)


def exposition() -> tuple[bytes, str]:
    """Return every metric in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> None:
    """Serve `GET /metrics` on its own port, in the background (Socket Mode has no web server)."""
    start_http_server(port, addr=host)


def observe_answer(body: Mapping[str, Any], status: int, seconds: float) -> None:
    """Count one request Slack sent and time the answer focusbot gave it."""
    kind, name = request_name(body)
    outcome = _outcome(status)
    if outcome == UNVERIFIED:
        name = UNVERIFIED  # whatever an unsigned request says about itself is not counted
    REQUESTS.labels(kind, name[:MAX_NAME_LENGTH], outcome).inc()
    ANSWER_SECONDS.labels(kind).observe(seconds)


def request_name(body: Mapping[str, Any]) -> tuple[str, str]:
    """Return a request's kind and the name focusbot knows it by."""
    if "command" in body:
        return "command", str(body["command"])
    kind = str(body.get("type") or "")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return "action", str(actions[0].get("action_id") or "")
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id") or "")
    if kind in ("shortcut", "message_action"):
        return "shortcut", str(body.get("callback_id") or "")
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type") or "")
    return "other", kind


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return UNVERIFIED
    if status == 404:
        return "unhandled"
    return "refused" if status < 500 else "error"


def post_due(kind: str) -> None:
    """Count a scheduled post taken up for delivery."""
    POSTS_DUE.labels(kind).inc()


def post_delivered(kind: str, lag: timedelta) -> None:
    """Count a delivered scheduled post and how late after its due time it went out."""
    POSTS_DELIVERED.labels(kind).inc()
    DELIVERY_LAG.labels(kind).observe(max(lag.total_seconds(), 0.0))


def post_retried(kind: str) -> None:
    """Count a failed attempt that will be tried again."""
    POSTS_RETRIED.labels(kind).inc()


def post_failed(kind: str) -> None:
    """Count a scheduled post given up on."""
    POSTS_FAILED.labels(kind).inc()


def post_deferred(kind: str) -> None:
    """Count a scheduled post held back until the next meeting window."""
    POSTS_DEFERRED.labels(kind).inc()


def calendar_polled(*, failed: bool) -> None:
    """Count one reading of a linked calendar."""
    CALENDAR_POLLS.labels("failed" if failed else "ok").inc()


def watch_socket(connected: Callable[[], bool]) -> None:
    """Report whether the Socket Mode connection is open, asking at each scrape."""
    SOCKET_CONNECTED.set_function(lambda: 1.0 if connected() else 0.0)


def socket_reconnected(at: datetime) -> None:
    """Count a reconnection to Slack over Socket Mode and remember when it happened."""
    SOCKET_RECONNECTS.inc()
    SOCKET_LAST_RECONNECT.set(at.timestamp())
