"""Socket Mode: reconnecting without losing anything, handling re-deliveries once, saying why not.

focusbot talks to the fake Slack's Socket Mode server on loopback (bot/console/fakesocket.py).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from prometheus_client import REGISTRY

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack, Scripted
from bot.focus.lists import Caller, add_item, ensure_list
from bot.runtime.doctor import MODE_CHECK, SOCKET_CHECK, Finding, diagnose, render, slack_client
from bot.runtime.metrics import exposition
from bot.runtime.socket_mode import SocketModeRefused, SocketModeRunner, retry_delays
from storage.base import Workspace, utcnow
from storage.db import session_scope
from storage.schema import alembic_config
from tests.conftest import ALICE, APP_TOKEN, BOB, CHANNEL, TEAM, SlackUser, envelope_of

ROOT = Path(__file__).resolve().parent.parent
WAIT = 30.0  # seconds: generous, for a loaded machine; nothing here is a speed check


def quick_retries() -> Iterator[float]:
    """Retry Slack within moments, so the tests do not wait out real backoff."""
    return retry_delays(0.05, 0.2)


def log_pain(slack: SlackUser, text: str) -> str:
    """Log a pain point over the socket; return focusbot's answer."""
    answer = slack.command(text, command="/pain")
    assert answer.status == 200, f"no acknowledgement for /pain {text}"
    return answer.text


def wait_until(condition: Any, timeout: float = WAIT) -> bool:
    """Wait until a condition holds, checking every few milliseconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def slack_over_socket(socket_mode: SocketModeRunner, fake_slack: FakeSlack) -> SlackUser:
    """Return a Slack stand-in that reaches focusbot over Socket Mode only."""
    return SlackUser("", fake_slack, socket=True)


def home_opened(user: str) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user[1:]}


@pytest.mark.parametrize("abruptly", [True, False], ids=["line dropped", "close frame"])
def test_a_socket_closed_mid_stream_reconnects_and_loses_nothing(
    slack_over_socket: SlackUser,
    fake_slack: FakeSlack,
    socket_mode: SocketModeRunner,
    abruptly: bool,
) -> None:
    assert "#1" in log_pain(slack_over_socket, "GPU queue takes forever")
    fake_slack.socket_mode.close_newest(abruptly=abruptly)
    # Sent while focusbot reconnects: Slack holds it for the next connection.
    assert "#2" in log_pain(slack_over_socket, "CI takes 45 minutes")
    assert fake_slack.socket_mode.connections_opened == 2
    listed = slack_over_socket.command("list", command="/pain").text
    assert "GPU queue" in listed and "CI takes 45 minutes" in listed
    assert wait_until(lambda: socket_mode.status().reconnects == 1)
    assert socket_mode.status().connected


def test_a_refresh_requested_disconnect_reconnects_and_loses_nothing(
    slack_over_socket: SlackUser, fake_slack: FakeSlack, socket_mode: SocketModeRunner
) -> None:
    assert "#1" in log_pain(slack_over_socket, "GPU queue takes forever")
    fake_slack.socket_mode.disconnect("refresh_requested")
    assert fake_slack.socket_mode.wait_for_connections(2, WAIT)
    assert "#2" in log_pain(slack_over_socket, "CI takes 45 minutes")
    assert wait_until(lambda: fake_slack.socket_mode.connected == 1)
    status = socket_mode.status()
    assert status.connected and status.reconnects == 1
    assert status.last_reconnect_at is not None
    assert "#2" in slack_over_socket.command("list", command="/pain").text


def test_an_envelope_lost_with_its_connection_comes_again_and_is_handled_once(
    slack_over_socket: SlackUser, fake_slack: FakeSlack
) -> None:
    command = slack_over_socket.requests.command(
        "/pain", "GPU queue takes forever", user_id=ALICE, channel_id=CHANNEL, response_url="x"
    )
    first = envelope_of(command)
    fake_slack.socket_mode.send(first)
    assert fake_slack.socket_mode.ack_for(first.envelope_id, WAIT) is not None
    again = envelope_of(command)
    again.retry_attempt = 1
    fake_slack.socket_mode.send(again)
    ack = fake_slack.socket_mode.ack_for(again.envelope_id, WAIT)
    assert ack is not None and ack.payload is None  # taken before: acknowledged, not answered
    listed = slack_over_socket.command("list", command="/pain").text
    assert "#1" in listed and "#2" not in listed


def test_a_redelivered_event_with_retry_attempt_is_handled_once(
    slack_over_socket: SlackUser, fake_slack: FakeSlack
) -> None:
    event = slack_over_socket.requests.event(home_opened(ALICE), event_id="Ev0SOCKET")
    slack_over_socket.post(event)
    fake_slack.wait_for("views.publish", 1, WAIT)
    retried = slack_over_socket.post(event, {"X-Slack-Retry-Num": "1"})
    assert retried.status == 200
    # Another person's event, sent after the retry was acknowledged, is a marker to wait for.
    slack_over_socket.post(slack_over_socket.requests.event(home_opened(BOB), event_id="Ev0BOB"))
    published = fake_slack.wait_for("views.publish", 2, WAIT)
    assert [call["user_id"] for call in published] == [ALICE, BOB]


def test_the_scheduler_delivers_while_the_socket_drops_and_refreshes(
    slack_over_socket: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    focusbot.scheduler.start(0.05)
    try:
        for number, disturb in enumerate(["drop", "close", "refresh"]):
            channel = f"C0ROUND{number}"
            due_a_check_in(focusbot, channel)
            if disturb == "refresh":
                fake_slack.socket_mode.disconnect("refresh_requested")
            else:
                fake_slack.socket_mode.close_newest(abruptly=disturb == "drop")
            assert f"#{number + 1}" in log_pain(slack_over_socket, f"pain during {disturb}")
            assert wait_until(lambda channel=channel: fake_slack.messages_in(channel))
    finally:
        focusbot.scheduler.shutdown()
    assert fake_slack.socket_mode.connections_opened == 4
    for number in range(3):
        assert len(fake_slack.messages_in(f"C0ROUND{number}")) == 1


def due_a_check_in(focusbot: Focusbot, channel: str) -> None:
    """Give a channel a focus list made a week ago, so its weekly check-in is due now."""
    week_ago = utcnow() - timedelta(days=7, hours=1)
    with session_scope(focusbot.services.engine) as session:
        caller = Caller(Workspace(TEAM), ALICE, channel)
        focus_list = ensure_list(session, caller, "UTC", week_ago)
        add_item(session, focus_list, ALICE, "an item", (), week_ago)


def test_slack_unreachable_at_start_is_retried_until_it_answers(
    focusbot: Focusbot, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.script(
        "apps.connections.open",
        Scripted(drop_connection=True),
        Scripted(503, {"ok": False, "error": "service_unavailable"}),
        Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}),
    )
    runner = SocketModeRunner(focusbot.app, focusbot.services, delays=quick_retries)
    try:
        runner.start()
        assert fake_slack.socket_mode.wait_for_connections(1, WAIT)
    finally:
        runner.close()
    assert len(fake_slack.calls_to("apps.connections.open")) == 4
    retries = [r.getMessage() for r in caplog.records if "trying again in" in r.getMessage()]
    assert len(retries) == 3
    assert "cannot reach Slack at" in retries[0]
    assert "503 (service_unavailable)" in retries[1]
    assert APP_TOKEN not in caplog.text


def test_backoff_doubles_up_to_a_ceiling() -> None:
    delays = retry_delays(1.0, 10.0)
    assert [next(delays) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("invalid_auth", r"Slack refused SLACK_APP_TOKEN \(invalid_auth\): it is wrong"),
        ("missing_scope", r"\(missing_scope\): it lacks the connections:write scope"),
        ("not_allowed_token_type", r"\(not_allowed_token_type\): it is not an app-level"),
    ],
)
def test_a_refused_app_token_is_explained_in_plain_words(
    focusbot: Focusbot, fake_slack: FakeSlack, error: str, words: str
) -> None:
    fake_slack.script("apps.connections.open", Scripted(200, {"ok": False, "error": error}))
    runner = SocketModeRunner(focusbot.app, focusbot.services, delays=quick_retries)
    try:
        with pytest.raises(SocketModeRefused, match=words) as refused:
            runner.start()
    finally:
        runner.close()
    assert "connections:write" in str(refused.value)
    assert len(fake_slack.calls_to("apps.connections.open")) == 1


def test_a_token_refused_on_reconnection_stops_with_plain_words(
    fake_slack: FakeSlack, socket_mode: SocketModeRunner
) -> None:
    fake_slack.script(
        "apps.connections.open", Scripted(200, {"ok": False, "error": "token_revoked"})
    )
    fake_slack.socket_mode.close_newest()
    with pytest.raises(SocketModeRefused, match=r"SLACK_APP_TOKEN \(token_revoked\)"):
        socket_mode.wait()


def run_focusbot(fake_slack: FakeSlack, tmp_path: Path, api_url: str = "") -> subprocess.Popen:
    """Start `focusbot run` in Socket Mode against the fake Slack."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-T0TEAM",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": api_url or fake_slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'focusbot.db'}",
        "SCHEDULER_TICK_SECONDS": "3600",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_run_while_slack_is_unreachable_keeps_trying_and_stops_cleanly(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    closed_port = fake_slack.base_url.replace(str(fake_port(fake_slack)), str(free_port()))
    process = run_focusbot(fake_slack, tmp_path, api_url=closed_port)
    assert process.stderr is not None
    retries: list[str] = []
    for line in process.stderr:
        if "trying again in" in line:
            retries.append(line)
        if len(retries) == 2:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert "cannot reach Slack at" in retries[0]
    assert "trying again in 1 s" in retries[0] and "trying again in 2 s" in retries[1]
    assert "Traceback" not in rest and "focusbot stops." in rest


def fake_port(fake: FakeSlack) -> int:
    return int(fake.base_url.split(":")[2].split("/")[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def doctor_findings(focusbot: Focusbot) -> dict[str, Finding]:
    """Run focusbot doctor's checks for Socket Mode against the test database."""
    command.stamp(alembic_config(focusbot.services.engine), "head")  # the tables are all there
    settings = focusbot.services.settings
    findings = diagnose(settings, focusbot.services.engine, slack_client(settings), mode="socket")
    assert APP_TOKEN not in render(findings)
    return {finding.check: finding for finding in findings}


def test_doctor_says_the_socket_is_connected_and_when_it_last_reconnected(
    focusbot: Focusbot, fake_slack: FakeSlack, socket_mode: SocketModeRunner
) -> None:
    assert wait_until(lambda: socket_mode.status().connected)
    fake_slack.socket_mode.disconnect("refresh_requested")
    assert wait_until(lambda: socket_mode.status().reconnects == 1)
    assert wait_until(lambda: socket_mode.status().connected)
    found = doctor_findings(focusbot)
    assert found[MODE_CHECK].ok and "Slack opens connections" in found[MODE_CHECK].detail
    connection = found[SOCKET_CHECK]
    assert connection.ok, connection.detail
    assert f"focusbot on {socket_mode.process} is connected to Slack" in connection.detail
    assert "last reconnected at" in connection.detail and "(1 reconnection)" in connection.detail


def test_doctor_says_when_the_socket_is_down(
    focusbot: Focusbot, fake_slack: FakeSlack, socket_mode: SocketModeRunner
) -> None:
    unavailable = Scripted(503, {"ok": False, "error": "service_unavailable"})
    fake_slack.script("apps.connections.open", *[unavailable] * 10_000)
    fake_slack.socket_mode.close_newest(abruptly=True)
    assert wait_until(lambda: not socket_mode.status().connected)
    assert wait_until(lambda: not doctor_findings(focusbot)[SOCKET_CHECK].ok)
    assert "NOT connected to Slack" in doctor_findings(focusbot)[SOCKET_CHECK].detail


def test_doctor_says_no_focusbot_is_running_once_it_stopped(
    focusbot: Focusbot, socket_mode: SocketModeRunner
) -> None:
    socket_mode.close()
    connection = doctor_findings(focusbot)[SOCKET_CHECK]
    assert connection.ok and "no focusbot running in Socket Mode has reported" in connection.detail


def test_doctor_explains_an_app_token_slack_refuses(
    focusbot: Focusbot, fake_slack: FakeSlack
) -> None:
    fake_slack.script(
        "apps.connections.open", Scripted(200, {"ok": False, "error": "invalid_auth"})
    )
    mode = doctor_findings(focusbot)[MODE_CHECK]
    assert not mode.ok and "Slack refused SLACK_APP_TOKEN (invalid_auth)" in mode.detail


def test_metrics_say_whether_the_socket_is_connected_and_when_it_last_reconnected(
    fake_slack: FakeSlack, socket_mode: SocketModeRunner
) -> None:
    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    assert wait_until(lambda: sample("focusbot_socket_mode_connected") == 1.0)
    reconnects = sample("focusbot_socket_mode_reconnects_total")
    fake_slack.socket_mode.disconnect("refresh_requested")
    assert wait_until(lambda: socket_mode.status().reconnects == 1)
    assert sample("focusbot_socket_mode_reconnects_total") == reconnects + 1
    last = socket_mode.status().last_reconnect_at
    assert last is not None
    assert sample("focusbot_socket_mode_last_reconnect_timestamp_seconds") == last.timestamp()
    exposed = exposition()[0].decode()
    assert "focusbot_socket_mode_connected 1.0" in exposed
    socket_mode.close()
    assert sample("focusbot_socket_mode_connected") == 0.0
