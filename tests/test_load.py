"""Load: 200 signed `/focus add` at once to a focusbot process, every one answered, none lost.

How fast they are answered is measured by `python -m bench.edges`, not asserted here.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from urllib.request import urlopen

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.console.fakeslack import FakeSlack, SignedRequest
from storage.focus import OPEN, FocusItem, FocusList
from storage.schema import upgrade
from tests.conftest import ALICE, BOB, CAROL, SIGNING_SECRET, TEAM, Answer, SlackUser

CONCURRENT = 200
CONNECTIONS = 64  # open at once, as Slack may
PEOPLE = (ALICE, BOB, CAROL)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(
    fake_slack: FakeSlack, empty_engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[SlackUser]:
    """Run `focusbot run --http` in its own process, as in production; return a Slack for it."""
    # As advised for production: several workers on PostgreSQL, one process on a SQLite file.
    workers = 3 if database_url.startswith("postgresql") else 1
    with running_focusbot(fake_slack, empty_engine, database_url, tmp_path, workers) as (slack, _):
        _warm_up(slack)
        yield slack


@pytest.fixture
def two_workers(
    fake_slack: FakeSlack, empty_engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[tuple[SlackUser, int]]:
    """Run `focusbot run --http --workers 2`; return a Slack for it and the process's id."""
    with running_focusbot(fake_slack, empty_engine, database_url, tmp_path, 2) as running:
        yield running


@contextmanager
def running_focusbot(
    fake_slack: FakeSlack, empty_engine: Engine, database_url: str, tmp_path: Path, workers: int
) -> Iterator[tuple[SlackUser, int]]:
    """Run `focusbot run --http --workers N` until the block ends; yield a Slack and its pid."""
    upgrade(empty_engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-load-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "focusbot.log").open("w")
    command = [sys.executable, "-m", "bot.cli", "run", "--http", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server, tmp_path / "focusbot.log")
        yield SlackUser(base_url, fake_slack), server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _warm_up(slack: SlackUser) -> None:
    """Serve a first burst, untimed, as a running server has: connections open, caches full."""
    requests = [
        slack.requests.command(
            "/focus",
            "",
            user_id=person,
            channel_id="C0WARMUP",
            response_url=slack.fake.response_url(f"warmup{index}"),
        )
        for index, person in enumerate(PEOPLE * 16)
    ]
    answers = send_all_at_once(slack, requests)
    assert all(answer.status == 200 for answer in answers)
    for index, answer in enumerate(answers):  # until the answers that came late are all in
        if not answer.body:
            assert slack.fake.wait_for(f"/response/warmup{index}", 1, 60)


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            with urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"focusbot did not start: {log.read_text()}")


def adds(slack: SlackUser, channels: Sequence[str]) -> list[SignedRequest]:
    return [
        slack.requests.command(
            "/focus",
            f"add Load item {index} for <#{channel}> &amp; <@{PEOPLE[index % 3]}|someone>",
            user_id=PEOPLE[index % 3],
            channel_id=channel,
            response_url=slack.fake.response_url(f"load{index}"),
        )
        for index, channel in enumerate(channels)
    ]


def send_all_at_once(slack: SlackUser, requests: list[SignedRequest]) -> list[Answer]:
    """Send every request from its own thread; return the answers."""
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(slack.post, requests))


def assert_all_answered(slack: SlackUser, answers: list[Answer]) -> None:
    """Check each add was answered once: in its acknowledgement, or later through response_url."""
    failures = [answer for answer in answers if answer.status != 200]
    assert not failures, f"{len(failures)} of {len(answers)} failed, e.g. {failures[0]}"
    for index, answer in enumerate(answers):
        method = f"/response/load{index}"
        posted = slack.fake.calls_to(method) if answer.body else slack.fake.wait_for(method, 1, 60)
        texts = [answer.text] if answer.body else [str(post.get("text")) for post in posted]
        assert len(texts) == 1 and "Added" in texts[0], (answer, posted)
        assert not (answer.body and posted), (answer, posted)


def open_items_per_channel(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(FocusList.channel_id, func.count(col(FocusItem.id)))
            .join(FocusItem, col(FocusItem.list_id) == col(FocusList.id))
            .where(FocusList.team_id == TEAM, FocusItem.state == OPEN)
            .group_by(col(FocusList.channel_id))
        )
        return {channel: count for channel, count in rows}


@pytest.mark.slow
def test_200_concurrent_adds_in_200_channels_are_all_answered_and_all_kept(
    served: SlackUser, empty_engine: Engine
) -> None:
    slack, engine = served, empty_engine
    channels = [f"C{index:04d}LOAD" for index in range(CONCURRENT)]
    assert_all_answered(slack, send_all_at_once(slack, adds(slack, channels)))
    assert open_items_per_channel(engine) == dict.fromkeys(channels, 1)
    for channel in channels[:: CONCURRENT // 4]:
        listed = slack.command("", channel=channel).text
        assert "*1.* Load item" in listed and "1 of 3" in listed


@pytest.mark.slow
def test_200_concurrent_adds_five_to_a_list_lose_nothing(
    served: SlackUser, empty_engine: Engine
) -> None:
    slack, engine = served, empty_engine
    channels = [f"C{index:04d}BUSY" for index in range(CONCURRENT // 5)]
    for channel in channels:
        assert "at most 7 items" in slack.command("limit 7", channel=channel).text
    assert_all_answered(slack, send_all_at_once(slack, adds(slack, channels * 5)))
    assert open_items_per_channel(engine) == dict.fromkeys(channels, 5)
    with Session(engine) as session:
        places = session.exec(select(FocusItem.list_id, FocusItem.position)).all()
    positions: dict[int, list[int]] = {}
    for list_id, position in places:
        positions.setdefault(list_id, []).append(position)
    assert all(sorted(taken) == [1, 2, 3, 4, 5] for taken in positions.values()), positions
    for channel in channels[::10]:
        listed = slack.command("", channel=channel).text
        assert all(f"*{number}.* Load item" in listed for number in range(1, 6)), listed
        assert "5 of 7" in listed


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_two_workers_share_the_connections_slack_opens_at_once(
    two_workers: tuple[SlackUser, int],
) -> None:
    slack, _ = two_workers
    host, port = slack.base_url.removeprefix("http://").split(":")
    connections = [HTTPConnection(host, int(port), timeout=30) for _ in range(CONNECTIONS)]

    def list_focus(index: int) -> int:
        command = slack.requests.command(
            "/focus",
            "",
            user_id=ALICE,
            channel_id="C0SHARED",
            response_url=slack.fake.response_url(f"shared{index}"),
        )
        return _exchange(connections[index], "POST", "/slack/events", command)[0]

    def lists_answered_by_its_worker(index: int) -> int:
        status, metrics = _exchange(connections[index], "GET", "/metrics")
        assert status == 200
        counted = re.findall(
            r'focusbot_requests_total\{kind="command",name="/focus",.*\} (\S+)', metrics
        )
        return sum(int(float(value)) for value in counted)

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        assert set(pool.map(list_focus, range(CONNECTIONS))) == {200}
        answered = list(pool.map(lists_answered_by_its_worker, range(CONNECTIONS)))
    # One list was asked on each connection, so a worker answered as many as it holds connections.
    assert max(answered) <= CONNECTIONS * 3 // 4, answered


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_when_a_worker_dies_the_other_answers_every_new_connection(
    two_workers: tuple[SlackUser, int],
) -> None:
    slack, parent = two_workers
    worker = int(Path(f"/proc/{parent}/task/{parent}/children").read_text().split()[0])
    os.kill(worker, signal.SIGKILL)
    _wait_until_listening_sockets(int(slack.base_url.rsplit(":", 1)[1]), 1)

    def health(_: int) -> int:
        with urlopen(slack.base_url + "/healthz", timeout=30) as response:
            return int(response.status)

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        assert list(pool.map(health, range(CONNECTIONS))) == [200] * CONNECTIONS


def _wait_until_listening_sockets(port: int, count: int) -> None:
    """Wait until `count` sockets listen on a port (a killed process's close soon after it)."""
    listening = "0A"  # TCP_LISTEN in /proc/net/tcp
    deadline = time.monotonic() + 10
    while True:
        rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        found = sum(row[1].endswith(f":{port:04X}") and row[3] == listening for row in rows)
        if found == count:
            return
        assert time.monotonic() < deadline, f"{found} sockets listen on {port}, not {count}"
        time.sleep(0.05)


def _exchange(
    connection: HTTPConnection, method: str, path: str, signed: SignedRequest | None = None
) -> tuple[int, str]:
    body, headers = (signed.body.encode(), signed.headers) if signed else (None, {})
    connection.request(method, path, body, headers)
    response = connection.getresponse()
    return response.status, response.read().decode()
