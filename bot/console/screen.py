"""What the console shows: each call focusbot made to the fake Slack, and the modals it opened."""

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console as Terminal
from rich.text import Text

from bot.console.calls import Call
from bot.console.deliveries import Delivery
from bot.console.directory import Directory
from bot.console.fakeslack import FakeSlack
from bot.console.modals import Closed, Lines, fields_of, read_answers, show_modal
from bot.console.render import Origin, Renderer
from bot.console.signedrequests import SignedRequest, SlackRequests


@dataclass
class Session:
    """Who the console acts as, where, and at what time."""

    user: str = "you"
    channel: str = "#ml-team"
    offset: timedelta = timedelta()
    last_message: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answered:
    """Where a response_url belongs: the channel and person of the request that got it."""

    channel_id: str
    user: str


class Screen:
    """Render the calls focusbot made and fill in its modals; mixed into the console."""

    terminal: Terminal
    state: Session
    directory: Directory
    renderer: Renderer
    fake: FakeSlack
    requests: SlackRequests
    _seen_calls: int
    _answered: dict[str, Answered]
    _deliveries: list[Delivery] | None

    def now(self) -> datetime:
        """Return the console's clock."""
        raise NotImplementedError

    def _dispatch(self, request: SignedRequest) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def _render_new_calls(self, lines: Lines) -> None:
        while self._seen_calls < len(self.fake.calls):
            call = self.fake.calls[self._seen_calls]
            self._seen_calls += 1
            if self._deliveries is not None and _is_shown(call):
                self._deliveries.append(Delivery(self.now(), call, self._label(call)))
            else:
                self._render_call(call, lines)

    def _render_call(self, call: Call, lines: Lines, when: str = "") -> None:
        method, params = call.method, call.params
        if method == "views.open" or method == "views.push":
            self._fill_modal(_view_of(params), lines)
            return
        label = self._label(call) + when
        if method == "views.publish":
            self.renderer.message(label, _view_of(params), Origin(None, in_home=True))
        elif method == "files.completeUploadExternal":
            self._render_files(label, params)
        elif method.startswith("/response/") and params.get("delete_original"):
            self._note("(focusbot removed the message)")
        elif method.startswith("/response/"):
            answered = self._answered.get(method.removeprefix("/response/"))
            channel_id = answered.channel_id if answered else self._channel_id()
            url = self.fake.response_url(method.removeprefix("/response/"))
            self.renderer.message(label, params, Origin(channel_id, url))
        elif method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            channel = str(params.get("channel", ""))
            self.renderer.message(label, params, Origin(channel, self._new_response_url(channel)))

    def _label(self, call: Call) -> str:
        method, params = call.method, call.params
        if method == "views.publish":
            owner = self.directory.user_name(str(params.get("user_id", "")))
            return "your Home tab" if owner == self.state.user else f"@{owner}'s Home tab"
        if method == "files.completeUploadExternal":
            return "file, " + self.directory.audience(str(params.get("channel_id", "")))
        if method == "chat.postEphemeral":
            where = self.directory.audience(str(params.get("channel", "")))
            return f"only @{self.directory.user_name(str(params.get('user', '')))}, {where}"
        if method == "chat.update":
            return "updated, " + self.directory.audience(str(params.get("channel", "")))
        if method.startswith("/response/"):
            answered = self._answered.get(method.removeprefix("/response/"))
            who = answered.user if answered else self.state.user
            if params.get("response_type") == "in_channel":
                channel_id = answered.channel_id if answered else self._channel_id()
                label = self.directory.audience(channel_id)
            else:
                label = "only you" if who == self.state.user else f"only @{who}"
            return label + (", updated" if params.get("replace_original") else "")
        return self.directory.audience(str(params.get("channel", "")))

    def _render_files(self, label: str, params: dict[str, Any]) -> None:
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else (files or [])
        for shared in files:
            file_id = str(shared.get("id"))
            stored = self.fake.files.get(file_id, {})
            name = stored.get("name") or str(shared.get("title", "file"))
            comment = str(params.get("initial_comment", ""))
            data = self.fake.uploads.get(file_id, b"")
            if data and not stored.get("content"):
                self.renderer.picture(label, name, _save(file_id, name, data), len(data), comment)
            else:
                self.renderer.file(label, name, stored.get("content", ""), comment)

    def _fill_modal(self, view: dict[str, Any], lines: Lines) -> None:
        while True:
            show_modal(self.renderer, view)
            fields, values = fields_of(view), None
            while True:
                try:
                    values = read_answers(self.renderer, fields, lines, self.directory.user_id)
                except Closed:
                    self._note("(modal closed, nothing sent)")
                    return
                request = self.requests.view_submission(view, values, user_id=self._me())
                _status, body = self._dispatch(request)
                if body.get("response_action") != "errors":
                    break
                for block_id, message in body.get("errors", {}).items():
                    label = next((f.label for f in fields if f.block_id == block_id), block_id)
                    self.terminal.print(Text(f"✗ {label}: {message}", style="red"))
                if not lines.interactive:
                    self._note("(the modal was not sent; focusbot goes on with the next line)")
                    return
                fields = [f for f in fields if f.block_id in body.get("errors", {})] or fields
            if body.get("response_action") in ("update", "push") and body.get("view"):
                view = body["view"]
                continue
            self._note("(sent)")
            return

    def _hint(self, text: str) -> None:
        self.terminal.print(Text(text, style="yellow"))

    def _note(self, text: str) -> None:
        self.terminal.print(Text(text, style="cyan"))

    def _new_response_url(self, channel_id: str | None = None) -> str:
        name = f"console{len(self._answered) + 1}"
        self._answered[name] = Answered(channel_id or self._channel_id(), self.state.user)
        return self.fake.response_url(name)

    def _me(self) -> str:
        return self.directory.user_id(self.state.user)

    def _channel_id(self, channel: str | None = None) -> str:
        return self.directory.channel_id(channel or self.state.channel, self.state.user)


def _is_shown(call: Call) -> bool:
    return call.method.startswith("/response/") or call.method in (
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "views.publish",
        "files.completeUploadExternal",
    )


def _save(file_id: str, name: str, data: bytes) -> str:
    """Save a file that is not text (a chart) where a person can open it; return its path."""
    folder = Path(tempfile.gettempdir()) / "focusbot-console"
    folder.mkdir(exist_ok=True)
    path = folder / f"{file_id}-{Path(name).name}"
    path.write_bytes(data)
    return str(path)


def _view_of(params: dict[str, Any]) -> dict[str, Any]:
    view = params.get("view") or {}
    return json.loads(view) if isinstance(view, str) else view
