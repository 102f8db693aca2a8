"""Exactly once: lost answers, chaos, two processes and kill -9 never lose or repeat a post."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app.factory import Focusbot
from bot.common.caller import Caller
from bot.common.outbox import schedule_post
from bot.console.fakeslack import FakeSlack, Scripted
from bot.focus import add_item, ensure_list
from bot.runtime.scheduler import OUTBOX_EVENT
from storage.base import Workspace, utcnow
from storage.db import session_scope
from storage.schedule import ScheduledPost
from tests.conftest import TEAM

ROOT = Path(__file__).resolve().parent.parent
CREATED = datetime(
    2026, 11, 18, 12, 0, tzinfo=UTC
)  # a Wednesday: check-ins fall on Monday the 23rd


def make_lists(engine: Engine, count: int, created: datetime = CREATED) -> None:
    """Give `count` channels a focus list, each with its first weekly check due."""
    with session_scope(engine) as session:
        for number in range(count):
            caller = Caller(Workspace(TEAM), "U0ALICE", f"C{number:04d}")
            focus_list = ensure_list(session, caller, "Europe/Berlin", created)
            add_item(session, focus_list, "U0ALICE", f"item {number}", (), created)


def delivered_keys(fake: FakeSlack) -> Counter[tuple[str, int]]:
    """Count the messages Slack accepted, by outbox key and part."""
    with fake._lock:
        messages = list(fake.messages)
    stamps = [(m.get("metadata") or {}) for m in messages]
    return Counter(
        (stamp["event_payload"]["key"], stamp["event_payload"]["part"])
        for stamp in stamps
        if stamp.get("event_type") == OUTBOX_EVENT
    )


def post_states(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        return Counter(post.state for post in session.exec(select(ScheduledPost)))


def due_keys(engine: Engine, before: datetime) -> set[str]:
    with session_scope(engine) as session:
        posts = session.exec(select(ScheduledPost).where(ScheduledPost.due_at <= before))
        return {post.idempotency_key for post in posts}


def test_a_post_whose_answer_was_lost_is_not_posted_again(
    focusbot: Focusbot, engine: Engine, fake_slack: FakeSlack
) -> None:
    make_lists(engine, 1)
    fake_slack.script("chat.postMessage", Scripted(drop_connection=True, after_processing=True))
    with freeze_time(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        assert focusbot.scheduler.tick().retried == 1
    with freeze_time(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)):
        assert focusbot.scheduler.tick().sent == 1
    assert len(fake_slack.messages_in("C0000")) == 1
    assert list(delivered_keys(fake_slack).values()) == [1]


def test_under_chaos_every_due_post_is_delivered_exactly_once(
    focusbot: Focusbot, engine: Engine, fake_slack: FakeSlack
) -> None:
    make_lists(engine, 25)
    with session_scope(engine) as session:
        for number in range(15):
            schedule_post(
                session,
                workspace=Workspace(TEAM),
                channel_id=f"U{number:04d}",
                kind="focus.checkin",
                due_at=CREATED,
                key=f"dm-{number}",
                now=CREATED,
                payload={"list_id": 0},
            )
    fake_slack.chaos(
        0.3, ("chat.postMessage", "conversations.history", "conversations.open"), seed=7
    )
    moment = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    for _ in range(60):
        with freeze_time(moment):
            focusbot.scheduler.tick()
        moment += timedelta(minutes=20)
        if post_states(engine)["pending"] == 0 or moment > datetime(2026, 11, 30, 8, 0, tzinfo=UTC):
            break
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    checkins = {key for key in due_keys(engine, monday) if key.startswith("focus.checkin")}
    delivered = delivered_keys(fake_slack)
    assert len(checkins) == 25
    assert {key for key, _ in delivered} == checkins
    assert set(delivered.values()) == {1}, [k for k, n in delivered.items() if n > 1]
    failures = [c for c in fake_slack.calls_to("chat.postMessage")]
    assert len(failures) > len(delivered)  # chaos really struck


WORKER = """
import sys, time
from bot.app.factory import create_focusbot
from bot.runtime.settings import Settings
focusbot = create_focusbot(Settings(_env_file=None))
stop = time.monotonic() + float(sys.argv[1])
while time.monotonic() < stop:
    focusbot.scheduler.tick()
    time.sleep(0.05)
"""


def start_worker(
    fake: FakeSlack, database_url: str, seconds: float, lease: float = 300
) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_", "SCHEDULER_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-worker",
        SLACK_API_URL=fake.base_url,
        DATABASE_URL=database_url,
        SCHEDULER_LEASE_SECONDS=str(lease),
    )
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(seconds)],
        cwd=ROOT,
        env=env,
        text=True,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_two_processes_deliver_each_post_once(
    engine: Engine, fake_slack: FakeSlack, database_url: str
) -> None:
    # The lists were made weeks ago: every first check-in is overdue for both workers at once.
    make_lists(engine, 40, created=utcnow() - timedelta(weeks=2))
    workers = [start_worker(fake_slack, database_url, seconds=4) for _ in range(2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors
    delivered = delivered_keys(fake_slack)
    assert len(delivered) == 40
    assert set(delivered.values()) == {1}
    assert post_states(engine)["sent"] == 40


@pytest.mark.slow
def test_kill_9_in_the_middle_of_a_tick_then_restart_loses_nothing_and_posts_nothing_twice(
    engine: Engine, fake_slack: FakeSlack, database_url: str
) -> None:
    make_lists(engine, 10, created=utcnow() - timedelta(weeks=2))
    # The fourth post reaches Slack, but its answer hangs: the worker is killed while it waits.
    fake_slack.script("chat.postMessage", *[Scripted()] * 3, Scripted(hold_seconds=30))
    first = start_worker(fake_slack, database_url, seconds=40, lease=2)
    fake_slack.wait_for("chat.postMessage", 4, timeout=30)
    time.sleep(0.3)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert 4 <= len(delivered_keys(fake_slack)) < 10
    time.sleep(2.5)  # the dead worker's lease runs out
    second = start_worker(fake_slack, database_url, seconds=4, lease=2)
    _, errors = second.communicate(timeout=60)
    assert second.returncode == 0, errors
    delivered = delivered_keys(fake_slack)
    assert len(delivered) == 10
    assert set(delivered.values()) == {1}
    assert post_states(engine)["sent"] == 10


@pytest.mark.both_transports
def test_a_retried_event_is_handled_once(slack, fake_slack: FakeSlack) -> None:
    event = {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "channel": "D0ALICE"}
    request = slack.requests.event(event, event_id="Ev0RETRIED")
    assert slack.post(request).status == 200
    fake_slack.wait_for("views.publish", 1)
    retry = slack.post(
        request, extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status == 200
    time.sleep(0.5)
    assert len(fake_slack.calls_to("views.publish")) == 1


@pytest.mark.both_transports
def test_a_replayed_command_adds_once(slack) -> None:
    request = slack.requests.command(
        "/focus",
        "add Only once",
        user_id="U0ALICE",
        channel_id="C0ONCE",
        response_url="http://127.0.0.1:9/none",
    )
    assert "Added" in slack.post(request).text
    assert slack.post(request).status == 200
    listed = slack.command("", channel="C0ONCE").text
    assert "*1.* Only once" in listed and "*2.*" not in listed and "1 of 3" in listed
