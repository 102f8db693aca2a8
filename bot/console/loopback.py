"""The fake Slack's HTTP side: turn a loopback request into a recorded call and answer it."""

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qsl

from bot.console.calls import Scripted


class WebApi(Protocol):
    """What the HTTP handler needs from the fake Slack."""

    def record(self, method: str, params: dict[str, Any]) -> Scripted | None: ...

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def answer_headers(self) -> dict[str, str]: ...

    def receive_file(self, file_id: str, data: bytes) -> None: ...


def handler_for(fake: WebApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            if path.startswith("/upload/"):
                fake.receive_file(path.removeprefix("/upload/"), data)
            raw = data.decode("utf-8", errors="replace")
            params = _parse(raw, self.headers.get("Content-Type", ""))
            params.update(dict(parse_qsl(query)))
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer and "token" not in params:
                params["token"] = bearer
            method = path.removeprefix("/api/") if path.startswith("/api/") else path
            scripted = fake.record(method, params)
            if scripted is not None and scripted.drop_connection:
                if scripted.after_processing:
                    fake.answer(method, params)
                self.close_connection = True
                self.connection.close()
                return
            if scripted is None or scripted.body is None:
                body = fake.answer(method, params)
                time.sleep(scripted.hold_seconds if scripted else 0)
                status, headers = 200, fake.answer_headers()
            else:
                status, body, headers = scripted.status, scripted.body, scripted.headers
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
