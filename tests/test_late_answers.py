"""Slash commands never miss Slack's three seconds: a slow answer comes once, through response_url.

The work is made slow deterministically: a rule waits until the test has Slack's acknowledgement.
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.request import urlopen

import pytest

from bot import focus
from bot.app.factory import Focusbot
from bot.runtime import metrics
from bot.runtime.answering import CommandPool
from handlers.slack import SORRY
from tests.conftest import Answer, SlackUser, message_text

# Short, so that the tests do not wait long for the acknowledgement; not a timed assertion.
BUDGET_SECONDS = 0.2


@pytest.fixture
def pool(focusbot: Focusbot) -> CommandPool:
    focusbot.services.commands = CommandPool(2, budget_seconds=BUDGET_SECONDS)
    return focusbot.services.commands


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Make reading a focus list wait until the event is set (the test saw the ack)."""
    event = threading.Event()
    find_list: Callable[..., Any] = focus.find_list

    def slow_find_list(*args: Any, **kwargs: Any) -> Any:
        event.wait(timeout=30)
        return find_list(*args, **kwargs)

    monkeypatch.setattr(focus, "find_list", slow_find_list)
    yield event
    event.set()


def posted_to_last_response_url(slack: SlackUser, pool: CommandPool) -> list[dict[str, Any]]:
    """Return everything posted to the last command's response_url once the work is done."""
    assert pool.wait_idle(timeout=30)
    return slack.responses(wait_for=0)


@pytest.mark.both_transports
def test_the_answer_comes_in_the_acknowledgement_when_ready_in_time(
    slack: SlackUser, focusbot: Focusbot
) -> None:
    answer = slack.command("add Write the report")
    assert "Write the report" in answer.text
    assert focusbot.services.commands is not None
    assert posted_to_last_response_url(slack, focusbot.services.commands) == []


@pytest.mark.both_transports
@pytest.mark.parametrize(
    ("text", "response_type"),
    [("", "ephemeral"), ("share", "in_channel")],
    ids=["private", "in-channel"],
)
def test_a_slow_answer_is_acknowledged_empty_then_posted_once_to_response_url(
    slack: SlackUser, pool: CommandPool, released: threading.Event, text: str, response_type: str
) -> None:
    released.set()
    slack.command("add Write the report")
    assert pool.wait_idle(timeout=30)  # added, whether answered in time or not
    released.clear()
    answer = slack.command(text)
    assert answer.status == 200 and answer.body == ""
    released.set()
    [posted] = slack.responses()
    assert posted["response_type"] == response_type
    assert "Write the report" in message_text(posted)
    assert len(posted_to_last_response_url(slack, pool)) == 1


def test_a_slow_command_that_fails_apologises_through_response_url(
    slack: SlackUser, pool: CommandPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()

    def failing_find_list(*_args: Any, **_kwargs: Any) -> Any:
        released.wait(timeout=30)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(focus, "find_list", failing_find_list)
    answer = slack.command("")
    assert answer.status == 200 and answer.body == ""
    released.set()
    assert [message_text(posted) for posted in posted_to_last_response_url(slack, pool)] == [SORRY]


def test_a_command_that_fails_in_time_apologises_in_the_acknowledgement(
    slack: SlackUser, pool: CommandPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_find_list(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(focus, "find_list", failing_find_list)
    answer = slack.command("")
    assert SORRY in answer.text
    assert posted_to_last_response_url(slack, pool) == []


def test_a_command_that_waited_for_a_server_thread_past_the_budget_is_answered_late(
    slack: SlackUser, focusbot: Focusbot, http_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack's seconds run from when the command arrived, also while it waits in the queue."""
    budget = 1.0  # ample for adding an item, had the command not waited
    focusbot.services.commands = CommandPool(2, budget_seconds=budget)
    threads = 8  # the test server's
    busy, released = threading.Semaphore(0), threading.Event()
    exposition = metrics.exposition

    def slow_exposition() -> tuple[bytes, str]:
        busy.release()
        released.wait(timeout=30)
        return exposition()

    monkeypatch.setattr(metrics, "exposition", slow_exposition)
    scrapes = [
        threading.Thread(target=urlopen, args=(http_url + "/metrics",)) for _ in range(threads)
    ]
    for scrape in scrapes:
        scrape.start()
    for _ in range(threads):
        assert busy.acquire(timeout=30)  # every thread of the server is taken
    answers: list[Answer] = []
    command = threading.Thread(target=lambda: answers.append(slack.command("add Write the report")))
    command.start()
    threading.Event().wait(budget * 2)  # the command waits in the server's queue
    released.set()
    command.join(timeout=30)
    for scrape in scrapes:
        scrape.join(timeout=30)
    [answer] = answers
    assert answer.status == 200 and answer.body == ""
    [posted] = slack.responses()
    assert "Write the report" in message_text(posted)
