"""Serve Slack's requests over HTTP under waitress; also `GET /healthz` and `GET /metrics`."""

import io
import json
import logging
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError
from waitress import serve as waitress_serve

from bot.app.factory import Focusbot
from bot.app.intake import refusal_of
from bot.runtime import metrics
from handlers import pain as pain_handlers
from storage.inbox import write_probe

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_BODY_BYTES = 1024 * 1024


def wsgi_app(focusbot: Focusbot) -> "WSGIApplication":
    """Return the WSGI application that serves focusbot."""
    slack = _TimedRequestHandler(focusbot.app, path=EVENTS_PATH)
    secret = focusbot.services.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    def application(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == HEALTH_PATH and method == "GET":
            return _health(focusbot, start_response)
        if path == METRICS_PATH and method == "GET":
            return _metrics(start_response)
        length = str(environ.get("CONTENT_LENGTH") or "0")
        if not length.isdecimal():
            return _plain(start_response, "400 Bad Request", "bad content length")
        if int(length) > MAX_BODY_BYTES:
            return _plain(start_response, "413 Content Too Large", "request body too large")
        if path == EVENTS_PATH and method == "POST" and verifier is not None:
            started = time.perf_counter()
            body = environ["wsgi.input"].read(int(length))
            refusal = refusal_of(verifier, body, _headers(environ))
            if refusal is not None:
                log.warning("refused a Slack request: %s (%d bytes)", refusal.reason, len(body))
                status = int(refusal.status.split()[0])
                metrics.observe_answer({}, status, time.perf_counter() - started)  # no claims
                return _plain(start_response, refusal.status, refusal.reason)
            environ["wsgi.input"] = io.BytesIO(body)
        return slack(environ, start_response)

    return application


class _TimedRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, telling each request when it arrived (its context's `arrived_at`)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        """Hand the request to Bolt with its arrival time."""
        return self.app.dispatch(
            BoltRequest(
                body=request.get_body(),
                query=request.query_string,
                headers=request.get_headers(),
                context={"arrived_at": _arrived_at(request.environ)},
            )
        )


def _arrived_at(environ: "WSGIEnvironment") -> float:
    """Return when the server read the request (on the `time.perf_counter` clock).

    Slack's three seconds run while a request waits in waitress's queue for a free thread, so
    the answer's budget counts from the last read on the request's connection; now, when the
    server does not tell.
    """
    now = time.perf_counter()
    channel = getattr(environ.get("waitress.client_disconnected"), "__self__", None)
    read_at = getattr(channel, "last_activity", None)
    if not isinstance(read_at, float):
        return now
    return now - max(time.time() - read_at, 0.0)


def _headers(environ: "WSGIEnvironment") -> dict[str, str]:
    headers = {"content-type": str(environ.get("CONTENT_TYPE") or "")}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


def _health(focusbot: Focusbot, start_response: "StartResponse") -> Iterable[bytes]:
    services = focusbot.services
    try:
        with services.session() as session:
            write_probe(session, services.now())
    except SQLAlchemyError as error:
        log.error("health check: database cannot take writes: %s", type(error).__name__)
        return _json(start_response, "503 Service Unavailable", {"ok": False, "database": "down"})
    return _json(start_response, "200 OK", {"ok": True, "database": "ok"})


def _metrics(start_response: "StartResponse") -> list[bytes]:
    payload, content_type = metrics.exposition()
    start_response(
        "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _json(start_response: "StartResponse", status: str, body: dict[str, object]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _plain(start_response: "StartResponse", status: str, body: str) -> list[bytes]:
    payload = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))])
    return [payload]


def serve(make_focusbot: Callable[[], Focusbot], host: str, port: int, workers: int = 1) -> None:
    """Serve focusbot over HTTP until stopped, from one process or several on the same port."""
    if workers <= 1:
        _serve_worker(make_focusbot, socket.create_server((host, port)))
        return
    listeners = _listeners(host, port, workers)
    forked = multiprocessing.get_context("fork")
    children = [
        forked.Process(
            target=_serve_worker,
            args=(make_focusbot, listener, [other for other in listeners if other is not listener]),
            name=f"worker-{n}",
        )
        for n, listener in enumerate(listeners)
    ]
    signal.signal(signal.SIGTERM, _exit)  # so that stopping the parent stops its workers
    for child in children:
        child.start()
    for listener in listeners:  # each worker holds its own, so that one that dies takes it along
        listener.close()
    try:
        for child in children:
            child.join()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join(timeout=10)
            if child.is_alive():  # a thread of its own kept it from exiting: never leave it behind
                log.warning("%s did not stop within 10 s; killing it", child.name)
                child.kill()
                child.join()


def _listeners(host: str, port: int, workers: int) -> list[socket.socket]:
    """Return one listening socket per worker, all on one port; the same one where none can be.

    Workers sharing one socket take turns unevenly: connections opened together mostly go to
    whichever is awake first, leaving another idle. Linux spreads connections over sockets bound
    with SO_REUSEPORT evenly, whatever the workers are doing.
    """
    if not sys.platform.startswith("linux"):  # elsewhere SO_REUSEPORT does not spread them
        return [socket.create_server((host, port))] * workers
    # A port another focusbot listens on is refused, as without SO_REUSEPORT: never serve beside it.
    with socket.create_server((host, port)) as probe:
        bound = probe.getsockname()[1]  # the port given, or the one chosen for port 0
    return [socket.create_server((host, bound), reuse_port=True) for _ in range(workers)]


def _serve_worker(
    make_focusbot: Callable[[], Focusbot],
    listener: socket.socket,
    others: Iterable[socket.socket] = (),
) -> None:
    """Serve on a listening socket with this process's own app, database pool and scheduler."""
    for other in others:  # the other workers' sockets, inherited: a dead worker's must close
        other.close()
    focusbot = make_focusbot()
    settings = focusbot.services.settings
    focusbot.scheduler.start(settings.scheduler_tick_seconds)
    pain_handlers.warm_up(focusbot.services)
    try:
        waitress_serve(
            wsgi_app(focusbot), sockets=[listener], threads=settings.web_threads, ident="focusbot"
        )
    finally:
        focusbot.scheduler.shutdown()


def _exit(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
