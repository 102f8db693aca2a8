"""Load: 200 signed `/focus add` at once to a focusbot process, every one answered, none lost.

How fast they are answered is measured by `python -m bench.edges`, not asserted here.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
PEOPLE = (ALICE, BOB, CAROL)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(
    fake_slack: FakeSlack, empty_engine: Engine, database_url: str, tmp_path: Path
) -> Iterator[SlackUser]:
    """Run `focusbot run --http` in its own process, as in production; return a Slack for it."""
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
    # As advised for production: several workers on PostgreSQL, one process on a SQLite file.
    workers = "3" if database_url.startswith("postgresql") else "1"
    command = [sys.executable, "-m", "bot.cli", "run", "--http", "--port", str(port)]
    command += ["--workers", workers]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server, tmp_path / "focusbot.log")
        slack = SlackUser(base_url, fake_slack)
        _warm_up(slack)
        yield slack
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
