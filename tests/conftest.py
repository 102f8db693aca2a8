"""Fixtures: a fresh database per test (SQLite, and PostgreSQL when given), a fake Slack."""

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qsl
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from waitress.server import create_server

from bot.app.factory import Focusbot, create_focusbot
from bot.app.web import wsgi_app
from bot.console.fakeslack import FakeSlack, SignedRequest, SlackRequests, running_fake_slack
from bot.console.fakesocket import Envelope
from bot.runtime.answering import CommandPool
from bot.runtime.settings import Settings, normalize_database_url
from bot.runtime.socket_mode import SocketModeRunner, retry_delays
from storage.db import make_engine
from storage.schema import metadata

SIGNING_SECRET = "test-signing-secret"
APP_TOKEN = "xapp-1-A0FOCUSBOT-test"
TEAM = "T0TEAM"
CHANNEL = "C0MLTEAM"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
TIMEZONES = {ALICE: "Europe/Berlin", BOB: "America/New_York", CAROL: "Asia/Kolkata"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres-url",
        default="",
        help="also run database tests on this PostgreSQL (each test in a fresh schema)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files with the most slow tests first, then the biggest; each file's tests in order.

    With `--dist loadfile` a file runs on one worker: a slow file handed out last ends the run
    alone while the other workers wait.
    """
    slow = Counter(item.path for item in items if item.get_closest_marker("slow"))
    sizes = Counter(item.path for item in items)
    items.sort(key=lambda item: (-slow[item.path], -sizes[item.path]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_backend" in metafunc.fixturenames:
        backends: list[Any] = ["sqlite"]
        if metafunc.config.getoption("--postgres-url"):
            backends.append("postgresql")
        if metafunc.definition.get_closest_marker("postgresql_only"):
            needs_server = pytest.mark.skip(reason="needs a database server: --postgres-url")
            backends = backends[1:] or [pytest.param("postgresql", marks=needs_server)]
        metafunc.parametrize("database_backend", backends, scope="function")
    if "transport" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_transports"
    ):
        metafunc.parametrize("transport", ["http", "socket"])


@pytest.fixture
def database_url(
    database_backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> Iterator[str]:
    """Return the URL of an empty database of the backend under test."""
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'focusbot.db'}"
        return
    base = normalize_database_url(request.config.getoption("--postgres-url"))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """Return an engine on an empty database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """Return an engine on a database with every focusbot table."""
    metadata().create_all(empty_engine)
    return empty_engine


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Run a fake Slack Web API on loopback."""
    with running_fake_slack(timezones=TIMEZONES) as fake:
        yield fake


def settings_for(fake: FakeSlack, database_url: str) -> Settings:
    """Return settings that point focusbot at the fake Slack and the test database."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-test-token",
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.base_url,
        database_url=database_url,
        calendar_private_addresses=True,  # the tests serve their iCal feeds on loopback
    )


@pytest.fixture
def focusbot(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Focusbot:
    """Return a focusbot wired to the fake Slack and the test database.

    Its commands run on the command pool as in production, but always answer in their
    acknowledgement: on a busy test machine an answer must not turn into a late one.
    tests/test_late_answers.py tests the late answers themselves.
    """
    focusbot = create_focusbot(settings_for(fake_slack, database_url), engine=engine)
    focusbot.services.commands = CommandPool(8, budget_seconds=None)
    return focusbot


@dataclass
class Answer:
    """What focusbot answered: over HTTP, or in its Socket Mode acknowledgement (status 200).

    Over Socket Mode, status 0 means no acknowledgement came.
    """

    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        """Return the answer as JSON ({} for an empty body)."""
        return json.loads(self.body) if self.body else {}

    @property
    def text(self) -> str:
        """Return every text of the answer's message, blocks included, as one string."""
        return message_text(self.json)


def message_text(message: dict[str, Any]) -> str:
    """Return all the text a person would read in a message or view."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []) or []:
        parts += _texts(block)
    return "\n".join(part for part in parts if part)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                found += _texts(value)
        return found
    if isinstance(node, list):
        return [text for child in node for text in _texts(child)]
    return []


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every button of a message or view, in order."""
    found = []
    for block in message.get("blocks", []) or []:
        for element in block.get("elements", []) or []:
            if element.get("type") == "button":
                found.append({**element, "block_id": block.get("block_id")})
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            found.append({**accessory, "block_id": block.get("block_id")})
    return found


class SlackUser:
    """Sends what Slack would send when people use focusbot: signed over HTTP, or over a socket."""

    def __init__(self, base_url: str, fake: FakeSlack, team_id: str = TEAM, socket: bool = False):
        self.base_url = base_url
        self.fake = fake
        self.socket = socket
        self.requests = SlackRequests(SIGNING_SECRET, team_id=team_id)
        self._responses = 0

    def post(self, request: SignedRequest, extra_headers: dict[str, str] | None = None) -> Answer:
        """Send a signed request to /slack/events, or as an envelope over Socket Mode."""
        if self.socket:
            return self.send_envelope(request, extra_headers or {})
        http = Request(
            self.base_url + "/slack/events",
            data=request.body.encode(),
            headers={**request.headers, **(extra_headers or {})},
            method="POST",
        )
        try:
            with urlopen(http, timeout=10) as response:
                return Answer(response.status, response.read().decode())
        except HTTPError as error:
            return Answer(error.code, error.read().decode())

    def send_envelope(self, request: SignedRequest, headers: dict[str, str]) -> Answer:
        """Send what a request carries as a Socket Mode envelope; return its acknowledgement."""
        envelope = envelope_of(request)
        envelope.retry_attempt = int(headers.get("X-Slack-Retry-Num", 0))
        self.fake.socket_mode.send(envelope)
        ack = self.fake.socket_mode.ack_for(envelope.envelope_id)
        if ack is None:
            return Answer(0, "")
        return Answer(200, json.dumps(ack.payload) if ack.payload else "")

    def command(
        self, text: str, *, user: str = ALICE, channel: str = CHANNEL, command: str = "/focus"
    ) -> Answer:
        """Type a slash command; a fresh response_url records what is posted to it."""
        self._responses += 1
        self.last_response_url = self.fake.response_url(f"cmd{self._responses}")
        return self.post(
            self.requests.command(
                command, text, user_id=user, channel_id=channel, response_url=self.last_response_url
            )
        )

    def click(
        self,
        button: dict[str, Any],
        *,
        user: str = ALICE,
        channel: str = CHANNEL,
        in_home: bool = False,
    ) -> Answer:
        """Click a button found in a message (or in the Home tab)."""
        self._responses += 1
        self.last_response_url = self.fake.response_url(f"click{self._responses}")
        action = {
            "type": "button",
            "action_id": button["action_id"],
            "block_id": button.get("block_id") or "b",
            "value": button.get("value", ""),
            "text": button.get("text"),
        }
        if in_home:
            return self.post(
                self.requests.block_action(
                    action,
                    user_id=user,
                    channel_id=None,
                    response_url=None,
                    container={"type": "view", "view_id": "V1"},
                    view={"id": "V1", "type": "home"},
                )
            )
        return self.post(
            self.requests.block_action(
                action, user_id=user, channel_id=channel, response_url=self.last_response_url
            )
        )

    def responses(self, wait_for: int = 1) -> list[dict[str, Any]]:
        """Return what the app posted to the last response_url, waiting for it."""
        method = self.last_response_url.split("127.0.0.1:")[1].split("/", 1)[1]
        return self.fake.wait_for("/" + method, wait_for)


@pytest.fixture
def http_url(focusbot: Focusbot) -> Iterator[str]:
    """Serve focusbot over HTTP on loopback; return its base URL."""
    server = create_server(
        wsgi_app(focusbot), host="127.0.0.1", port=0, threads=8, asyncore_use_poll=True
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    # Close from inside the server's own loop, so its poll() never sees a closed socket.
    try:
        server.trigger.pull_trigger(server.close)  # type: ignore[union-attr]
    except OSError:
        server.close()  # the loop has already let go of its trigger
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()


def envelope_of(request: SignedRequest) -> Envelope:
    """Return the Socket Mode envelope Slack sends instead of this HTTP request."""
    if request.headers["Content-Type"] == "application/json":
        return Envelope("events_api", json.loads(request.body))
    fields = dict(parse_qsl(request.body, keep_blank_values=True))
    if "payload" in fields:
        return Envelope("interactive", json.loads(fields["payload"]))
    return Envelope("slash_commands", fields)


@pytest.fixture
def transport() -> str:
    """Return how Slack reaches focusbot: over HTTP, unless a test is marked both_transports."""
    return "http"


@pytest.fixture
def socket_mode(focusbot: Focusbot, fake_slack: FakeSlack) -> Iterator[SocketModeRunner]:
    """Connect focusbot to the fake Slack over Socket Mode."""
    runner = SocketModeRunner(
        focusbot.app,
        focusbot.services,
        ping_seconds=2.0,  # a lost connection missed otherwise is found within moments
        delays=lambda: retry_delays(0.05, 0.5),
    )
    runner.start()
    assert fake_slack.socket_mode.wait_for_connections(1)
    yield runner
    runner.close()


@pytest.fixture
def slack(
    transport: str, fake_slack: FakeSlack, focusbot: Focusbot, request: pytest.FixtureRequest
) -> SlackUser:
    """Return a Slack stand-in sending requests to the running focusbot by the test's transport."""
    if transport == "socket":
        request.getfixturevalue("socket_mode")
        return SlackUser("", fake_slack, socket=True)
    return SlackUser(request.getfixturevalue("http_url"), fake_slack)
