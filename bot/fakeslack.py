"""A local stand-in for Slack: a Web API on loopback that records calls, and signed requests.

The console runs focusbot against it; the tests use it the way bolt-python tests itself.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

BOT_USER_ID = "UFOCUSBOT"


@dataclass(frozen=True)
class Call:
    """One request the app made: a Web API method or a post to a response_url."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Scripted:
    """A canned answer for the next call to a method: an HTTP status and JSON, or a dropped line."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False


class FakeSlack:
    """Slack's Web API on 127.0.0.1: answers like Slack and remembers every call."""

    def __init__(self, timezones: dict[str, str] | None = None, default_timezone: str = "UTC"):
        self.timezones = dict(timezones or {})
        self.default_timezone = default_timezone
        self.calls: list[Call] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._lock = threading.Condition()
        self._timestamps = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Return the Web API address to give the app as `SLACK_API_URL`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def response_url(self, name: str = "r") -> str:
        """Return a response_url that records what the app posts to it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/response/{name}"

    def start(self) -> "FakeSlack":
        """Start answering in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering."""
        self._server.shutdown()
        self._server.server_close()

    def script(self, method: str, *answers: Scripted) -> None:
        """Answer the next calls to a method with these canned answers, in order."""
        with self._lock:
            self._scripts.setdefault(method, []).extend(answers)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Return the parameters of every call to a method so far."""
        with self._lock:
            return [call.params for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until a method has been called `count` times; return its calls."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [call.params for call in self.calls if call.method == method]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(remaining)

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self.calls.clear()

    def _record(self, method: str, params: dict[str, Any]) -> Scripted | None:
        with self._lock:
            self.calls.append(Call(method, params))
            self._lock.notify_all()
            queue = self._scripts.get(method)
            return queue.pop(0) if queue else None

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Return what Slack would answer to a successful call."""
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://focusbot-local.slack.com/",
                "team": "focusbot local",
                "user": "focusbot",
                "team_id": params.get("team_id", "T0LOCAL"),
                "user_id": BOT_USER_ID,
                "bot_id": "BFOCUSBOT",
            }
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = params.get("ts") or f"{1_700_000_000 + next(self._timestamps)}.000100"
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": params}
        if method.startswith("views."):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"ok": True, "view": {"id": f"V{next(self._timestamps):06d}", **view}}
        if method == "users.info":
            user_id = str(params.get("user", ""))
            tz = self.timezones.get(user_id, self.default_timezone)
            return {"ok": True, "user": {"id": user_id, "name": user_id.lower(), "tz": tz}}
        return {"ok": True}


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            params = _parse(raw, self.headers.get("Content-Type", ""))
            params.update(dict(parse_qsl(query)))
            method = path.removeprefix("/api/") if path.startswith("/api/") else path
            scripted = fake._record(method, params)
            if scripted is not None and scripted.drop_connection:
                self.close_connection = True
                self.connection.close()
                return
            status, body, headers = (
                (scripted.status, scripted.body, scripted.headers)
                if scripted is not None
                else (200, fake.answer(method, params), {})
            )
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: the console and the tests read the recorded calls instead."""

    return Handler


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        loaded = json.loads(raw)
        return loaded if isinstance(loaded, dict) else {"body": loaded}
    params: dict[str, Any] = dict(parse_qsl(raw, keep_blank_values=True))
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str) and params[key].startswith(("[", "{")):
            params[key] = json.loads(params[key])
    return params


@contextmanager
def running_fake_slack(**kwargs: Any) -> Iterator[FakeSlack]:
    """Run a FakeSlack for the duration of a block."""
    fake = FakeSlack(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


@dataclass(frozen=True)
class SignedRequest:
    """A request body with the headers Slack would sign it with."""

    body: str
    headers: dict[str, str]


class SlackRequests:
    """Build the requests Slack sends an app, signed with the app's signing secret."""

    def __init__(self, signing_secret: str, team_id: str = "T0LOCAL", enterprise_id: str = ""):
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self._triggers = itertools.count(1)

    def sign(self, body: str, content_type: str, timestamp: int | None = None) -> SignedRequest:
        """Sign a raw body the way Slack does (v0, HMAC-SHA256)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            self.signing_secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        return SignedRequest(
            body,
            {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": f"v0={digest}",
            },
        )

    def command(
        self, command: str, text: str, *, user_id: str, channel_id: str, response_url: str
    ) -> SignedRequest:
        """Return a signed slash command."""
        fields = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "focusbot-local",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else "ml-team",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "AFOCUSBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self._trigger(),
        }
        if self.enterprise_id:
            fields["enterprise_id"] = self.enterprise_id
        return self.sign(urlencode(fields), "application/x-www-form-urlencoded")

    def block_action(
        self,
        action: dict[str, Any],
        *,
        user_id: str,
        channel_id: str | None,
        response_url: str | None,
        container: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
    ) -> SignedRequest:
        """Return a signed click on a button (`action` as it stands in the blocks)."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "AFOCUSBOT",
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(),
            "team": {"id": self.team_id, "domain": "focusbot-local"},
            "enterprise": {"id": self.enterprise_id} if self.enterprise_id else None,
            "is_enterprise_install": False,
            "container": container or {"type": "message", "channel_id": channel_id},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": "ml-team"}
        if response_url is not None:
            payload["response_url"] = response_url
        if view is not None:
            payload["view"] = view
        return self._interactive(payload)

    def view_submission(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str
    ) -> SignedRequest:
        """Return a signed modal submission with the given state values."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "focusbot-local"},
            "enterprise": {"id": self.enterprise_id} if self.enterprise_id else None,
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "AFOCUSBOT",
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(),
            "is_enterprise_install": False,
            "view": {
                "id": view.get("id", "V000001"),
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": view.get("callback_id", ""),
                "private_metadata": view.get("private_metadata", ""),
                "blocks": view.get("blocks", []),
                "state": {"values": values},
                "hash": "1.abc",
            },
        }
        return self._interactive(payload)

    def event(self, event: dict[str, Any], *, event_id: str = "Ev0001") -> SignedRequest:
        """Return a signed Events API envelope around an event."""
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "enterprise_id": self.enterprise_id or None,
            "api_app_id": "AFOCUSBOT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id or None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        return self.sign(json.dumps(envelope), "application/json")

    def _interactive(self, payload: dict[str, Any]) -> SignedRequest:
        return self.sign(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def _trigger(self) -> str:
        return f"{next(self._triggers)}.trigger"
