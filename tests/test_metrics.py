"""GET /metrics: what focusbot answered, how fast, what it posted on schedule, what it polled."""

import functools
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack, Scripted
from storage.base import utcnow
from tests.conftest import ALICE, SlackUser, buttons
from tests.test_scheduler import add_post, make_scheduler

CALENDARS = Path(__file__).resolve().parent / "data" / "calendars"


def scrape(http_url: str) -> "Scraped":
    """Return every sample /metrics shows, by name and labels."""
    with urlopen(Request(http_url + "/metrics"), timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]


def value(scraped: Scraped, metric: str, /, **labels: str) -> float:
    return scraped.get((metric, frozenset(labels.items())), 0.0)


def test_metrics_show_a_command_just_sent_its_outcome_and_answer_time(
    http_url: str, slack: SlackUser
) -> None:
    before = scrape(http_url)
    answer = slack.command("add Ship the eval harness")
    assert answer.status == 200 and "Added" in answer.text
    after = scrape(http_url)
    command = {"kind": "command", "name": "/focus", "outcome": "ok"}
    assert value(after, "focusbot_requests_total", **command) == (
        value(before, "focusbot_requests_total", **command) + 1
    )
    count = "focusbot_answer_seconds_count"
    assert value(after, count, kind="command") == value(before, count, kind="command") + 1


def test_metrics_count_a_button_click_by_its_action(http_url: str, slack: SlackUser) -> None:
    listed = slack.command("add Ship the eval harness")
    done = next(button for button in buttons(listed.json) if button["text"]["text"] == "Done")
    before = scrape(http_url)
    slack.click(done)
    after = scrape(http_url)
    action = {"kind": "action", "name": done["action_id"], "outcome": "ok"}
    assert value(after, "focusbot_requests_total", **action) == (
        value(before, "focusbot_requests_total", **action) + 1
    )


def test_a_request_with_a_bad_signature_is_counted_without_its_claims(
    http_url: str, slack: SlackUser
) -> None:
    before = scrape(http_url)
    request = slack.requests.command(
        "/focus",
        "add forged",
        user_id=ALICE,
        channel_id="C1",
        response_url=slack.fake.response_url("forged"),
    )
    answer = slack.post(request, extra_headers={"X-Slack-Signature": "v0=forged"})
    assert answer.status == 401
    after = scrape(http_url)
    unverified = {"kind": "other", "name": "unverified", "outcome": "unverified"}
    assert value(after, "focusbot_requests_total", **unverified) == (
        value(before, "focusbot_requests_total", **unverified) + 1
    )
    forged = {"kind": "command", "name": "/focus", "outcome": "unverified"}
    assert value(after, "focusbot_requests_total", **forged) == 0


def test_scheduled_posts_due_delivered_retried_failed_and_their_lag(
    engine: Engine, fake_slack: FakeSlack, http_url: str
) -> None:
    scheduler = make_scheduler(engine, fake_slack)
    kind = {"kind": "test.say"}
    before = scrape(http_url)
    with freeze_time(utcnow().replace(microsecond=0)) as clock:
        add_post(engine, "late", utcnow() - timedelta(minutes=10))
        add_post(engine, "doomed", utcnow(), channel="C404")
        fake_slack.script("chat.postMessage", Scripted(500, {"ok": False}))
        fake_slack.script("chat.postMessage", Scripted(200, {"ok": False, "error": "is_archived"}))
        scheduler.tick()  # late: a 500, retried; doomed: archived, failed
        clock.tick(timedelta(hours=1))
        scheduler.tick()  # late is delivered, 70 minutes after it was due
    after = scrape(http_url)

    def grew(metric: str, /, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert grew("focusbot_scheduled_posts_due_total", **kind) == 3
    assert grew("focusbot_scheduled_posts_retried_total", **kind) == 1
    assert grew("focusbot_scheduled_posts_failed_total", **kind) == 1
    assert grew("focusbot_scheduled_posts_delivered_total", **kind) == 1
    lag = "focusbot_scheduled_post_delivery_lag_seconds"
    assert grew(f"{lag}_sum", **kind) == pytest.approx(70 * 60)
    assert grew(f"{lag}_bucket", **kind, le="3600.0") == 0
    assert grew(f"{lag}_bucket", **kind, le="14400.0") == 1


@pytest.fixture
def calendars() -> Iterator[str]:
    """Serve tests/data/calendars on loopback; return its address."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(CALENDARS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_calendar_polls_and_their_failures_are_counted(
    http_url: str, slack: SlackUser, focusbot: Focusbot, calendars: str
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{unused.getsockname()[1]}/team.ics"
    before = scrape(http_url)
    linked = slack.command(f"calendar {calendars}/team.ics", channel="D0ALICE", command="/maker")
    assert "linked" in linked.text.lower(), linked.text
    broken = slack.command(f"calendar {nowhere}", user="U0BOB", channel="D0BOB", command="/maker")
    assert "linked" in broken.text.lower(), broken.text
    focusbot.scheduler.tick()
    assert focusbot.services.background.wait_idle(timeout=60)  # calendars are read beside the tick
    after = scrape(http_url)
    polls = "focusbot_calendar_polls_total"
    assert value(after, polls, outcome="ok") == value(before, polls, outcome="ok") + 1
    assert value(after, polls, outcome="failed") == value(before, polls, outcome="failed") + 1
