"""A local stand-in for Slack: a Web API on loopback that records calls, and signed requests.

The console runs focusbot against it; the tests use it the way bolt-python tests itself.
"""

import functools
import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from bot.console.calls import BOT_USER_ID, CHAOS, Call, Scripted, UploadedFile
from bot.console.fakesocket import STOP_POLL_SECONDS, FakeSocketMode
from bot.console.loopback import handler_for
from bot.console.signedrequests import SignedRequest, SlackRequests

__all__ = [
    "BOT_USER_ID",
    "Call",
    "FakeSlack",
    "Scripted",
    "SignedRequest",
    "SlackRequests",
    "UploadedFile",
    "dm_channel",
    "running_fake_slack",
    "team_of_token",
]


class FakeSlack:
    """Slack's Web API on 127.0.0.1: answers like Slack and remembers every call.

    `apps.connections.open` hands out addresses of its Socket Mode server, `socket_mode`.
    """

    def __init__(self, timezones: dict[str, str] | None = None, default_timezone: str = "UTC"):
        self.timezones = dict(timezones or {})
        # The bot scopes Slack reports in `x-oauth-scopes` on every answer (None: no header).
        self.scopes: list[str] | None = None
        self.default_timezone = default_timezone
        # Private channels and their members; any other C… channel is public.
        self.private_channels: dict[str, set[str]] = {}
        # The public channels conversations.list names (the others are still answered for).
        self.public_channels: set[str] = set()
        # Guests of the workspace (users.info says `is_restricted`), and who is in public channels.
        self.guests: set[str] = set()
        self.public_members: dict[str, set[str]] = {}
        self.calls: list[Call] = []
        self.messages: list[dict[str, Any]] = []
        # Files the app uploaded, by id: their name and content.
        self.files: dict[str, dict[str, str]] = {}
        self.uploads: dict[str, bytes] = {}  # file id → the bytes posted to its upload address
        self.shared: list[UploadedFile] = []  # every file shared, in order
        self._alt_texts: dict[str, str] = {}
        self._scripts: dict[str, list[Scripted]] = {}
        self._chaos_rate = 0.0
        self._chaos_methods: frozenset[str] = frozenset()
        self._random = random.Random(0)
        self._lock = threading.Condition()
        self._timestamps = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.socket_mode = FakeSocketMode()

    @property
    def base_url(self) -> str:
        """Return the Web API address to give the app as `SLACK_API_URL`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def response_url(self, name: str = "r") -> str:
        """Return a response_url that records what the app posts to it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/response/{name}"

    def start(self) -> "FakeSlack":
        """Start answering in a background thread."""
        serve = functools.partial(self._server.serve_forever, STOP_POLL_SECONDS)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        self.socket_mode.start()
        return self

    def stop(self) -> None:
        """Stop answering."""
        self._server.shutdown()
        self._server.server_close()
        self.socket_mode.stop()

    def script(self, method: str, *answers: Scripted) -> None:
        """Answer the next calls to a method with these canned answers, in order."""
        with self._lock:
            self._scripts.setdefault(method, []).extend(answers)

    def chaos(self, rate: float, methods: tuple[str, ...], seed: int = 0) -> None:
        """Fail this share of calls to these methods: 429, 500, or a dropped line."""
        with self._lock:
            self._chaos_rate, self._chaos_methods = rate, frozenset(methods)
            self._random = random.Random(seed)

    def make_private(self, channel: str, members: list[str]) -> None:
        """Make a channel private, with these people in it."""
        with self._lock:
            self.private_channels[channel] = set(members)

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Return the messages posted in a channel (or a user's DM), oldest first."""
        conversation = dm_channel(channel)
        with self._lock:
            return [message for message in self.messages if message["channel"] == conversation]

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

    def record(self, method: str, params: dict[str, Any]) -> Scripted | None:
        """Remember a call and return the canned answer due for it, if any."""
        with self._lock:
            self.calls.append(Call(method, params))
            self._lock.notify_all()
            queue = self._scripts.get(method)
            if queue:
                return queue.pop(0)
            if method in self._chaos_methods and self._random.random() < self._chaos_rate:
                return self._random.choice(CHAOS)
            return None

    def answer_headers(self) -> dict[str, str]:
        """Return the headers Slack sends with a successful answer."""
        return {} if self.scopes is None else {"x-oauth-scopes": ",".join(self.scopes)}

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Return what Slack would answer to a successful call."""
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://focusbot-local.slack.com/",
                "team": "focusbot local",
                "user": "focusbot",
                "team_id": team_of_token(str(params.get("token", ""))),
                "user_id": BOT_USER_ID,
                "bot_id": "BFOCUSBOT",
            }
        if method == "apps.connections.open":
            if not str(params.get("token", "")).startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.socket_mode.url()}
        if method == "oauth.v2.access":
            team = str(params.get("code", "")).removeprefix("code-for-") or "T0LOCAL"
            return {
                "ok": True,
                "app_id": "AFOCUSBOT",
                "authed_user": {"id": "U0INSTALLER"},
                "scope": "commands,chat:write",
                "token_type": "bot",
                "access_token": f"xoxb-{team}",
                "bot_user_id": BOT_USER_ID,
                "team": {"id": team, "name": f"Team {team}"},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return {"ok": True, **self._post(params)}
        if method in ("chat.update", "chat.postEphemeral"):
            ts = params.get("ts") or self._next_ts()
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": params}
        if method.startswith("views."):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            return {"ok": True, "view": {"id": f"V{next(self._timestamps):06d}", **view}}
        if method == "users.info":
            user_id = str(params.get("user", ""))
            tz = self.timezones.get(user_id, self.default_timezone)
            user = {"id": user_id, "name": user_id.lower(), "tz": tz}
            return {"ok": True, "user": {**user, "is_restricted": user_id in self.guests}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": dm_channel(str(params.get("users", "")))}}
        if method == "conversations.info":
            return {"ok": True, "channel": self._conversation(str(params.get("channel", "")))}
        if method == "conversations.list":
            return {"ok": True, **self._channels_page(params)}
        if method == "conversations.members":
            return {"ok": True, **self._members_page(params)}
        if method == "conversations.history":
            return {"ok": True, "messages": self._history(params), "has_more": False}
        if method == "conversations.replies":
            return {"ok": True, "messages": [], "has_more": False}
        if method == "chat.getPermalink":
            ts = str(params.get("message_ts", "")).replace(".", "")
            link = f"https://focusbot-local.slack.com/archives/{params.get('channel')}/p{ts}"
            return {"ok": True, "channel": params.get("channel"), "permalink": link}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._timestamps):08d}"
            port = self._server.server_address[1]
            url = f"http://127.0.0.1:{port}/upload/{file_id}"
            with self._lock:
                self.files[file_id] = {"name": str(params.get("filename", "")), "content": ""}
                self._alt_texts[file_id] = str(params.get("alt_txt") or "")
            return {"ok": True, "upload_url": url, "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else (files or [])
            self._share(params, files)
            uploaded = [{"id": f.get("id"), "title": f.get("title")} for f in files]
            return {"ok": True, "files": uploaded}
        return {"ok": True}

    def receive_file(self, file_id: str, data: bytes) -> None:
        """Keep a file the app uploads to its upload address: its bytes, and its text if any."""
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            content = ""  # a picture, say: only its bytes are kept
        with self._lock:
            self.uploads[file_id] = data
            self.files.setdefault(file_id, {"name": file_id})["content"] = content

    def _share(self, params: dict[str, Any], files: list[dict[str, Any]]) -> None:
        channel = dm_channel(str(params.get("channel_id") or params.get("channels") or ""))
        with self._lock:
            for shared in files:
                file_id = str(shared.get("id"))
                self.shared.append(
                    UploadedFile(
                        file_id,
                        channel,
                        str(shared.get("title") or ""),
                        self._alt_texts.get(file_id, ""),
                        str(params.get("initial_comment") or ""),
                        self.uploads.get(file_id, b""),
                    )
                )
            self._lock.notify_all()

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        message = {
            **params,
            "channel": dm_channel(str(params.get("channel", ""))),
            "ts": self._next_ts(),
        }
        with self._lock:
            self.messages.append(message)
        return {"channel": message["channel"], "ts": message["ts"], "message": message}

    def say(self, channel: str, user: str, text: str) -> dict[str, Any]:
        """Post a message as a person (not the bot), as if typed in Slack; return it."""
        message = {"type": "message", "channel": channel, "user": user, "text": text}
        message["ts"] = self._next_ts()
        with self._lock:
            self.messages.append(message)
        return message

    def _history(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        found = [
            message
            for message in self.messages_in(str(params.get("channel", "")))
            if oldest <= float(message["ts"]) <= latest
        ]
        return list(reversed(found))[: int(params.get("limit") or 100)]

    def _conversation(self, channel: str) -> dict[str, Any]:
        with self._lock:
            private = channel in self.private_channels
        is_im = channel.startswith("D")
        return {
            "id": channel,
            "is_channel": not is_im and not private,
            "is_group": private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": private or is_im,
        }

    def _channels_page(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            channels = sorted(
                [(channel, False) for channel in self.public_channels]
                + [(channel, True) for channel in self.private_channels]
            )
        start = int(params.get("cursor") or 0)
        end = start + int(params.get("limit") or 100)
        cursor = str(end) if end < len(channels) else ""
        page = [{"id": channel, "is_private": private} for channel, private in channels[start:end]]
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    def _members_page(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        with self._lock:
            known = self.private_channels.get(channel) or self.public_members.get(channel)
            members = sorted(known or ())
        if channel.startswith("D"):
            members = sorted({"U" + channel[1:], BOT_USER_ID})
        start = int(params.get("cursor") or 0)
        end = start + int(params.get("limit") or 100)
        cursor = str(end) if end < len(members) else ""
        return {"members": members[start:end], "response_metadata": {"next_cursor": cursor}}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._timestamps):06d}"


def team_of_token(token: str) -> str:
    """Return the workspace a fake bot token belongs to: `xoxb-T0NEW` → `T0NEW`."""
    suffix = token.removeprefix("xoxb-")
    return suffix if suffix.startswith("T") else "T0LOCAL"


def dm_channel(channel: str) -> str:
    """Return the DM conversation Slack opens for a user id; other ids are conversations already."""
    return "D" + channel[1:] if channel[:1] in ("U", "W") else channel


@contextmanager
def running_fake_slack(**kwargs: Any) -> Iterator[FakeSlack]:
    """Run a FakeSlack for the duration of a block."""
    fake = FakeSlack(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()
