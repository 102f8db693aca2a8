"""Hostile input over HTTP: no 5xx, no traceback, /healthz answering meanwhile, nothing stored.

Raw bodies and headers, unsigned and signed, and every payload type focusbot listens to with
the ids its listeners rely on garbled. Bounded (a few dozen examples each) to stay fast.
"""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.app.factory import Focusbot
from storage.schema import metadata
from tests.conftest import ALICE, CHANNEL, SIGNING_SECRET, TEAM

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
BOUNDED = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG_BODIES = [
    b"http://" + b"a" * 40_000,
    b"payload=" + b"%7B%22a%22%3A" * 20_000,
    b"{" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"\xff\xfe" * 10_000,
    b"text=" + b"x" * 200_000,
]
# What an HTTP header can carry: printable Latin-1.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=80,
)
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.just(""),
    st.text(max_size=40),
    st.text(min_size=33, max_size=200),
    st.just("U0ALICE\x00"),
    st.just("x" * 5000),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
# Ids no listener may rely on: missing, empty, too long for any id column, NUL, odd characters.
BAD_ID_TEXTS = st.one_of(
    st.none(),
    st.just(""),
    st.text(min_size=33, max_size=100),
    st.text(max_size=10).map(lambda text: f"U0{text}\x00"),
    st.sampled_from(["U 1", "U0ALICE\n", "<!channel>", "../../x", "Ü1"]),
)
# In JSON payloads, also ids of the wrong type.
BAD_IDS = st.one_of(BAD_ID_TEXTS, st.integers(), st.lists(st.just("U1"), min_size=1, max_size=2))


def send(base_url: str, body: bytes, headers: dict[str, str]) -> int:
    """Post a body to /slack/events; return the status."""
    request = Request(base_url + "/slack/events", data=body, headers=headers, method="POST")
    try:
        with urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except HTTPError as error:
        return int(error.code)


def health(base_url: str) -> int:
    try:
        with urlopen(base_url + "/healthz", timeout=30) as response:
            return int(response.status)
    except HTTPError as error:
        return int(error.code)


def signed(body: bytes, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def assert_refused_while_healthy(base_url: str, body: bytes, headers: dict[str, str]) -> int:
    """Send the hostile request and, while it is handled, ask /healthz; both must answer."""
    sending = threading.Event()
    statuses: list[int] = []

    def hostile() -> None:
        sending.set()
        statuses.append(send(base_url, body, headers))

    thread = threading.Thread(target=hostile)
    thread.start()
    sending.wait()
    assert health(base_url) == 200
    thread.join(timeout=60)
    assert statuses and statuses[0] < 500, statuses
    return statuses[0]


def stored_rows(engine: Engine) -> dict[str, int]:
    """Count the rows of every table but the inbox of seen requests (the health probe's too)."""
    counts = {}
    with engine.connect() as connection:
        for table in metadata().sorted_tables:
            if table.name != "received_request":
                counts[table.name] = connection.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
    return {name: count for name, count in counts.items() if count}


@pytest.fixture
def watched(http_url: str, focusbot: Focusbot, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    """Yield focusbot's URL; afterwards check no traceback was logged and nothing was stored."""
    yield http_url
    tracebacks = [record.getMessage() for record in caplog.records if record.exc_info]
    assert tracebacks == []
    assert stored_rows(focusbot.services.engine) == {}


@BOUNDED
@given(
    body=st.one_of(st.binary(max_size=2000), st.sampled_from(LONG_BODIES)),
    content_type=st.sampled_from([FORM, JSON, "text/plain", "", "application/json; x=ü"]),
    timestamp=st.one_of(st.none(), HEADER_TEXT, st.integers().map(str)),
    signature=st.one_of(st.none(), HEADER_TEXT, st.just("v0=" + "0" * 64)),
)
def test_unsigned_bodies_and_headers_are_refused(
    watched: str, body: bytes, content_type: str, timestamp: str | None, signature: str | None
) -> None:
    headers = {"Content-Type": content_type}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    assert assert_refused_while_healthy(watched, body, headers) in (400, 401, 413)


@BOUNDED
@given(
    body=st.one_of(st.binary(max_size=2000), st.sampled_from(LONG_BODIES)),
    content_type=st.sampled_from([FORM, JSON, "text/plain"]),
)
def test_signed_garbage_gets_a_4xx(watched: str, body: bytes, content_type: str) -> None:
    status = assert_refused_while_healthy(watched, body, signed(body, content_type))
    assert status < 500


def command_body(fields: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({k: v for k, v in fields.items() if v is not None}).encode(), FORM


def payload_body(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def event_body(event: dict[str, Any], team_id: Any = TEAM) -> tuple[bytes, str]:
    envelope = {"type": "event_callback", "team_id": team_id, "event_id": "EvHostile"}
    return json.dumps({**envelope, "event": event}).encode(), JSON


def garbled(base: dict[str, Any], required: str, bad_id: Any, noise: dict[str, Any]) -> dict:
    """Return the payload with its required id garbled and other fields overwritten."""
    payload = {**base, **{key: value for key, value in noise.items() if key != required}}
    if bad_id is None:
        payload.pop(required, None)
    else:
        payload[required] = bad_id
    return payload


COMMAND = {
    "team_id": TEAM,
    "channel_id": CHANNEL,
    "user_id": ALICE,
    "text": "add Never stored",
    "response_url": "http://127.0.0.1:9/r",
    "trigger_id": "1.2.x",
}
INTERACTIONS = {
    "block_actions": {
        "actions": [{"action_id": "focus_done", "value": "1", "block_id": "b"}],
        "channel": {"id": CHANNEL},
    },
    "view_submission": {"view": {"callback_id": "focus_add", "state": {"values": {}}}},
    "message_action": {"callback_id": "pain_log_message", "message": {"text": "x", "ts": "1.2"}},
    "shortcut": {"callback_id": "x"},
}
EVENTS = {
    "app_home_opened": {"type": "app_home_opened", "user": ALICE, "tab": "home"},
    "reaction_added": {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "pain",
        "item": {"type": "message", "channel": CHANNEL, "ts": "1.2"},
    },
}
NOISE = st.dictionaries(
    st.sampled_from(["text", "trigger_id", "response_url", "command", "team_id", "extra"]),
    HOSTILE_VALUES,
    max_size=3,
)


@BOUNDED
@given(
    command=st.sampled_from(["/focus", "/pain", "/maker", "/milestone"]),
    required=st.sampled_from(["user_id", "channel_id"]),
    bad_id=BAD_ID_TEXTS,
    noise=NOISE,
)
def test_every_command_with_a_garbled_id_is_refused(
    watched: str, command: str, required: str, bad_id: Any, noise: dict[str, Any]
) -> None:
    fields = garbled({**COMMAND, "command": command}, required, bad_id, noise)
    fields = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in fields.items()
    }
    body, content_type = command_body(fields)
    assert_refused_while_healthy(watched, body, signed(body, content_type))


@BOUNDED
@given(
    kind=st.sampled_from(sorted(INTERACTIONS)),
    bad_user=BAD_IDS,
    noise=st.dictionaries(
        st.sampled_from(["actions", "view", "channel", "team", "message", "callback_id"]),
        HOSTILE_VALUES,
        max_size=2,
    ),
)
def test_every_interaction_with_a_garbled_user_is_refused(
    watched: str, kind: str, bad_user: Any, noise: dict[str, Any]
) -> None:
    base = {"type": kind, "team": {"id": TEAM}, "trigger_id": "1.2.x", **INTERACTIONS[kind]}
    user = None if bad_user is None else {"id": bad_user}
    payload = garbled({**base, "user": {"id": ALICE}}, "user", user, noise)
    body, content_type = payload_body(payload)
    assert_refused_while_healthy(watched, body, signed(body, content_type))


@BOUNDED
@given(
    kind=st.sampled_from(sorted(EVENTS)),
    bad_user=BAD_IDS,
    noise=st.dictionaries(
        st.sampled_from(["item", "reaction", "tab", "channel"]), HOSTILE_VALUES, max_size=2
    ),
)
def test_every_event_with_a_garbled_user_is_refused(
    watched: str, kind: str, bad_user: Any, noise: dict[str, Any]
) -> None:
    body, content_type = event_body(garbled(EVENTS[kind], "user", bad_user, noise))
    assert_refused_while_healthy(watched, body, signed(body, content_type))
