"""Talk to Slack over Socket Mode: connect, say plainly why Slack refuses, reconnect, report.

Slack hands out a WebSocket address through `apps.connections.open` (with the app-level token),
sends each request over the socket as an envelope, and expects it acknowledged there.
"""

import contextlib
import functools
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from sqlmodel import Session
from websocket import ABNF, STATUS_NORMAL, WebSocketApp

from bot.runtime import metrics
from bot.runtime.logs import redact
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from storage.socket_mode import (
    SocketModeConnection,
    connections_seen_since,
    forget_connection,
    forget_connections_before,
    report_connection,
)

log = logging.getLogger("focusbot.socket")

PING_SECONDS = 10.0
HEARTBEAT_SECONDS = 30.0
ACK_WAIT_SECONDS = 2.5
FORGET_SILENT_AFTER = timedelta(days=1)
REPORTS_FRESH_FOR = timedelta(seconds=4 * HEARTBEAT_SECONDS)
_FIX_APP_TOKEN = (
    " Create an app-level token with the connections:write scope under Basic Information → "
    "App-Level Tokens at https://api.slack.com/apps and put it (it starts with xapp-) "
    "in SLACK_APP_TOKEN."
)
REFUSALS = {
    "invalid_auth": "it is wrong or incomplete.",
    "not_authed": "it is empty.",
    "token_revoked": "it was revoked: someone removed it from the app.",
    "account_inactive": "the app it belongs to is deactivated or deleted.",
    "missing_scope": "it lacks the connections:write scope Socket Mode needs.",
    "not_allowed_token_type": "it is not an app-level token (a bot or user token cannot open it).",
}
BOT_TOKEN_REFUSALS = ("invalid_auth", "not_authed", "token_revoked", "account_inactive")


class SocketModeRefused(Exception):
    """Slack refuses to open Socket Mode with this app-level token; the message says why."""


class _Stopping(Exception):
    """focusbot stops while waiting to reach Slack again."""


def refusal_reason(error_code: str) -> str | None:
    """Return, in plain words, why Slack refuses the app token; None if the error may pass."""
    reason = REFUSALS.get(error_code)
    if reason is None:
        return None
    return f"Slack refused SLACK_APP_TOKEN ({error_code}): {reason}{_FIX_APP_TOKEN}"


def retry_delays(first: float = 1.0, most: float = 60.0) -> Iterator[float]:
    """Yield how long to wait before each new try: doubling from `first`, at most `most`."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


def wait_for_slack(
    settings: Settings, delays: Callable[[], Iterator[float]] = retry_delays
) -> None:
    """Wait until Slack answers and accepts the bot token, retrying while it cannot be reached."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, retry_handlers=[])
    waits = delays()
    while True:
        try:
            client.auth_test()
            return
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in BOT_TOKEN_REFUSALS:
                raise  # the command line's error path says what is wrong with the bot token
            problem = f"Slack answered {error.response.status_code} ({code or 'no reason'})"
        except OSError as error:
            reason = redact(str(error), settings.secret_values())
            problem = f"cannot reach Slack at {settings.slack_api_url} ({reason})"
        delay = next(waits)
        log.warning("%s; trying again in %g s.", problem, delay)
        time.sleep(delay)


def app_token_problem(settings: Settings, timeout: float = 10.0) -> str | None:
    """Ask Slack for a socket address with the app token; return what is wrong, None if nothing."""
    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    client = WebClient(base_url=settings.slack_api_url, timeout=int(timeout), retry_handlers=[])
    try:
        client.apps_connections_open(app_token=token)
    except SlackApiError as error:
        code = str(error.response.get("error", ""))
        return refusal_reason(code) or f"Slack did not open Socket Mode ({code or 'no reason'})."
    except OSError as error:
        reason = redact(str(error), settings.secret_values())
        return f"Cannot reach Slack at {settings.slack_api_url} ({reason})."
    return None


def connection_report(session: Session, now: datetime) -> tuple[bool, str]:
    """Say whether the focusbot processes running in Socket Mode are connected, and since when."""
    reports = connections_seen_since(session, now - REPORTS_FRESH_FOR)
    if not reports:
        return True, (
            "no focusbot running in Socket Mode has reported lately "
            f"(each reports every {HEARTBEAT_SECONDS:g} s while it runs)."
        )
    return all(report.connected for report in reports), " ".join(map(_describe, reports))


def _describe(report: SocketModeConnection) -> str:
    state = "connected to Slack" if report.connected else "NOT connected to Slack (reconnecting)"
    if report.connected_since is None:
        return f"focusbot on {report.process} is {state}; it has not connected yet."
    first = f"it first connected at {_moment(report.connected_since)}"
    if report.last_reconnect_at is None:
        return f"focusbot on {report.process} is {state}; {first} and never had to reconnect."
    times = f"{report.reconnects} reconnection{'s' if report.reconnects != 1 else ''}"
    last = f"last reconnected at {_moment(report.last_reconnect_at)} ({times})"
    return f"focusbot on {report.process} is {state}; {first}, {last}."


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class SocketStatus:
    """How the connection to Slack stands: open or not, since when, how often it was reopened."""

    connected: bool = False
    connected_since: datetime | None = None
    last_reconnect_at: datetime | None = None
    reconnects: int = 0


class SocketModeRunner:
    """Keep focusbot connected to Slack over Socket Mode until closed; dispatch what arrives."""

    def __init__(
        self,
        app: App,
        services: Services,
        *,
        ping_seconds: float = PING_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        delays: Callable[[], Iterator[float]] = retry_delays,
    ):
        settings = services.settings
        if settings.slack_app_token is None:
            raise SocketModeRefused("Socket Mode needs SLACK_APP_TOKEN." + _FIX_APP_TOKEN)
        self.app = app
        self.services = services
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._app_token = settings.slack_app_token.get_secret_value()
        self._api = WebClient(base_url=settings.slack_api_url, retry_handlers=[])
        self._delays = delays
        self._heartbeat_seconds = heartbeat_seconds
        self._stopping = threading.Event()
        self._refusal: SocketModeRefused | None = None
        self._lock = threading.Lock()
        self._status = SocketStatus()
        self._client = _Client(self, ping_seconds)

    def start(self) -> None:
        """Connect, retrying while Slack is unreachable; raise SocketModeRefused if it refuses."""
        metrics.watch_socket(lambda: self.status().connected)
        try:
            self._client.connect()
        except _Stopping:
            return
        threading.Thread(target=self._beat, name="socket-heartbeat", daemon=True).start()

    def wait(self) -> None:
        """Block until closed; raise SocketModeRefused if Slack refused a reconnection meanwhile."""
        self._stopping.wait()
        if self._refusal is not None:
            raise self._refusal

    def close(self) -> None:
        """Disconnect, stop reconnecting, and withdraw this process's report."""
        self._stopping.set()
        self._client.close()
        try:
            with self.services.session() as session:
                forget_connection(session, self.process)
        except Exception as error:  # stopping matters more than the report
            log.warning("Socket Mode: could not withdraw the connection's state: %s", error)

    def status(self) -> SocketStatus:
        """Return how the connection stands now."""
        with self._lock:
            return replace(self._status, connected=self._client.is_connected())

    def connection_url(self) -> str:
        """Ask Slack for a socket address, waiting and retrying while Slack cannot be reached."""
        delays = self._delays()
        while True:
            try:
                response = self._api.apps_connections_open(app_token=self._app_token)
                return str(response["url"])
            except SlackApiError as error:
                code = str(error.response.get("error", ""))
                reason = refusal_reason(code)
                if reason is not None:
                    self._refuse(reason)
                delay = next(delays)
                if code == "ratelimited":
                    delay = max(delay, float(error.response.headers.get("retry-after", 1)))
                problem = f"Slack answered {error.response.status_code} ({code or 'no reason'})"
            except OSError as error:
                delay = next(delays)
                problem = f"cannot reach Slack at {self._api.base_url} ({self._redacted(error)})"
            log.warning("Socket Mode: %s; trying again in %g s.", problem, delay)
            self._report()
            if self._stopping.wait(delay):
                raise _Stopping

    def handle(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        """Run an envelope through the app and acknowledge it, with the answer if any."""
        send_response(client, request, run_bolt_app(self.app, request), 0.0)

    def opened(self) -> None:
        """Note that a connection opened: the first, or a reconnection."""
        now = self.services.now()
        with self._lock:
            status = self._status
            if status.connected_since is None:
                self._status = replace(status, connected_since=now)
                log.info("Socket Mode: connected to Slack.")
            else:
                self._status = replace(
                    status, last_reconnect_at=now, reconnects=status.reconnects + 1
                )
                metrics.socket_reconnected(now)
                log.info("Socket Mode: reconnected to Slack (%d so far).", status.reconnects + 1)
        self._report()

    def lost(self) -> None:
        """Note that the current connection closed."""
        if not self._stopping.is_set():
            log.info("Socket Mode: the connection to Slack closed; reconnecting.")
        self._report()

    def _refuse(self, reason: str) -> None:
        self._refusal = SocketModeRefused(reason)
        self._stopping.set()
        raise self._refusal

    def _redacted(self, error: Exception) -> str:
        return redact(str(error), self.services.settings.secret_values())

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_seconds):
            self._report()

    def _report(self) -> None:
        status = self.status()
        now = self.services.now()
        row = SocketModeConnection(
            process=self.process,
            connected=status.connected and not self._stopping.is_set(),
            connected_since=status.connected_since,
            last_reconnect_at=status.last_reconnect_at,
            reconnects=status.reconnects,
            seen_at=now,
        )
        try:
            with self.services.session() as session:
                report_connection(session, row)
                forget_connections_before(session, now - FORGET_SILENT_AFTER)
        except Exception as error:  # the connection matters more than its report
            log.warning("Socket Mode: could not record the connection's state: %s", error)


class _Client(SocketModeClient):
    """slack_sdk's websocket-client Socket Mode client, asking the runner for addresses.

    It also lets a connection that is still opening finish instead of opening another beside it:
    the client takes a socket not yet open for a lost one, at start and after a refresh.
    """

    def __init__(self, runner: SocketModeRunner, ping_seconds: float):
        super().__init__(
            app_token=runner._app_token,
            logger=logging.getLogger("focusbot.socket.client"),
            web_client=runner._api,
            ping_interval=ping_seconds,
            on_open_listeners=[self._opened],
            on_close_listeners=[self._closed],
        )
        self.runner = runner
        self.socket_mode_request_listeners.append(runner.handle)  # type: ignore[arg-type]

    def issue_new_wss_url(self) -> str:
        return self.runner.connection_url()

    def send_message(self, message: str) -> None:
        # An acknowledgement due while the next connection opens waits for it (Slack allows 3 s).
        deadline = time.monotonic() + ACK_WAIT_SECONDS
        while not self.is_connected() and not self.closed and time.monotonic() < deadline:
            time.sleep(0.02)
        super().send_message(message)

    def connect(self) -> None:
        super().connect()
        session = self.current_session
        if session is not None:  # slack_sdk closes it when replaced, or when the client closes
            session.close = functools.partial(_end, session)  # type: ignore[method-assign]

    def close(self) -> None:
        # slack_sdk's message thread waits up to a second for a message before it sees the client
        # closed: an empty one wakes it at once.
        self.closed = True
        self.message_queue.put(None)
        super().close()

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        session = self.current_session
        if not force and _opening(session):
            return
        if _newly_lost(session, self.is_connected()):
            self.runner.lost()
        super().connect_to_new_endpoint(force)

    def is_connected(self) -> bool:
        sock = getattr(self.current_session, "sock", None)
        return bool(sock is not None and getattr(sock, "connected", False))

    def _opened(self, session: Any) -> None:
        session.focusbot_opened = True
        self.runner.opened()

    def _closed(self, session: Any) -> None:
        session.focusbot_closed = True


def _end(session: WebSocketApp) -> None:
    """Close a connection by waking the thread reading it, which then closes it.

    websocket-client's own close() closes the socket under that thread, whose select() then does
    not notice for 10 s (websocket-client issue 916): stopping focusbot waited that long, and so
    did the connection replacing one Slack refreshed before it could open.
    """
    session.keep_running = False
    sock = session.sock
    if sock is None or not sock.connected:
        return  # not open yet, or closed already: its thread stops by itself
    with contextlib.suppress(Exception):  # the line may be gone already
        sock.send(struct.pack("!H", STATUS_NORMAL), ABNF.OPCODE_CLOSE)
    sock.abort()


def _opening(session: Any) -> bool:
    """Tell whether a connection has neither opened nor closed yet."""
    return session is not None and not (
        getattr(session, "focusbot_opened", False) or getattr(session, "focusbot_closed", False)
    )


def _newly_lost(session: Any, connected: bool) -> bool:
    """Tell whether an opened connection is gone and not yet said so; mark it said."""
    if connected or not getattr(session, "focusbot_opened", False):
        return False
    if getattr(session, "focusbot_lost", False):
        return False
    session.focusbot_lost = True
    return True
