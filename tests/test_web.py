"""The HTTP server: health, the events path, and refusing what Slack would never send."""

import hashlib
import hmac
import json
import socket
import time
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.app.factory import Focusbot
from bot.app.web import serve
from storage.db import make_engine
from tests.conftest import SIGNING_SECRET, SlackUser

FORM, JSON = "application/x-www-form-urlencoded", "application/json"


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def test_healthz_checks_the_database(http_url: str) -> None:
    status, body = get(http_url + "/healthz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "ok"}


def test_unknown_paths_are_not_found(http_url: str) -> None:
    assert get(http_url + "/nothing-here")[0] == 404


def test_a_huge_body_is_refused_before_it_is_read(slack: SlackUser, http_url: str) -> None:
    request = Request(
        http_url + "/slack/events",
        data=b"x" * (1024 * 1024 + 1),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        urlopen(request, timeout=5)
    except HTTPError as error:
        assert error.code == 413
    else:
        raise AssertionError("a huge body was accepted")


def test_slack_url_verification_is_answered(slack: SlackUser) -> None:
    request = slack.requests.sign(
        json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}),
        "application/json",
    )
    answer = slack.post(request)
    assert answer.status == 200 and "abc123" in answer.body


def raw_post(http_url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """Send any body and headers to /slack/events; return the status and body."""
    request = Request(http_url + "/slack/events", data=body, method="POST", headers=headers)
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def signed_headers(body: bytes, content_type: str = FORM) -> dict[str, str]:
    """Sign raw bytes the way Slack does."""
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info]


def test_a_long_unsigned_body_is_refused_and_never_logged(
    http_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"http://" + b"a" * 40_000
    status, _ = raw_post(http_url, body, {"Content-Type": "text/plain"})
    assert status == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "a" * 100 not in logged
    assert "refused a Slack request: missing or non-numeric timestamp" in logged


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "1" * 40, "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=é"},
        {"X-Slack-Request-Timestamp": "1700000000"},
    ],
)
def test_bad_signature_headers_are_unauthorized(
    http_url: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    status, _ = raw_post(http_url, b"payload=%7B%7D", {"Content-Type": FORM, **headers})
    assert status == 401
    assert tracebacks(caplog) == []


MALFORMED_SIGNED_BODIES = {
    "not JSON": (b"payload=%7Bnot-json", FORM),
    "JSON list": (b"payload=%5B1%2C2%5D", FORM),
    "JSON number": (b"payload=42", FORM),
    "JSON null": (b"payload=null", FORM),
    "empty payload": (b"payload=", FORM),
    "empty JSON object": (b"{}", JSON),
    "deep nesting": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, JSON),
    "shallow but too deep": (b'{"a":' * 40 + b"1" + b"}" * 40, JSON),
    "invalid UTF-8": (b"payload=%7B%7D\xff\xfe", FORM),
    "JSON string": (b'"hello"', JSON),
}


@pytest.mark.parametrize("name", MALFORMED_SIGNED_BODIES)
def test_a_malformed_signed_body_gets_a_4xx_and_one_short_line(
    http_url: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED_SIGNED_BODIES[name]
    status, _ = raw_post(http_url, body, signed_headers(body, content_type))
    assert 400 <= status < 500
    assert tracebacks(caplog) == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and len(refusals[0]) < 100


def test_healthz_fails_when_the_database_cannot_take_writes(
    focusbot: Focusbot, http_url: str
) -> None:
    """A read-only database (or a full disk) fails every command, so health must say so."""
    engine = focusbot.services.engine
    focusbot.services.engine = read_only_twin(engine)
    try:
        status, body = get(http_url + "/healthz")
    finally:
        focusbot.services.engine.dispose()
        focusbot.services.engine = engine
    assert status == 503
    assert json.loads(body) == {"ok": False, "database": "down"}
    assert get(http_url + "/healthz")[0] == 200


def read_only_twin(engine: Engine) -> Engine:
    """Return an engine on the same database whose connections refuse every write."""
    twin = make_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(twin, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if twin.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cursor.close()
        if twin.dialect.name != "sqlite":
            dbapi_connection.commit()

    return twin


def test_workers_refuse_a_port_another_focusbot_listens_on() -> None:
    def never_built() -> Focusbot:
        raise AssertionError("no worker may start")

    other = socket.create_server(("127.0.0.1", 0), reuse_port=True)  # as a worker listens
    with other, pytest.raises(OSError, match="in use"):
        serve(never_built, "127.0.0.1", other.getsockname()[1], workers=2)
