"""Signed requests that lack or garble what a listener relies on get a 4xx or a clear answer."""

import json
from typing import Any
from urllib.parse import urlencode

import pytest

import handlers.slack
from bot.common.recurrence import is_known_timezone
from tests.conftest import ALICE, CHANNEL, TEAM, SlackUser

FORM = "application/x-www-form-urlencoded"
COMMAND = {
    "team_id": TEAM,
    "channel_id": CHANNEL,
    "user_id": ALICE,
    "command": "/focus",
    "text": "add Ship it",
    "response_url": "http://127.0.0.1:9/response/x",
    "trigger_id": "1.2.abc",
}
ACTION = {
    "type": "block_actions",
    "user": {"id": ALICE},
    "team": {"id": TEAM},
    "channel": {"id": CHANNEL},
    "trigger_id": "1.3.abc",
    "actions": [{"action_id": "focus_done", "value": "1", "block_id": "b"}],
}


def without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name not in names}


COMMANDS = {
    "without user_id": without(COMMAND, "user_id"),
    "without channel_id": without(COMMAND, "channel_id"),
    "user_id over 32 characters": {**COMMAND, "user_id": "U" + "1" * 40},
    "channel_id with NUL": {**COMMAND, "channel_id": "C0\x00X"},
    "team_id over 32 characters": {**COMMAND, "team_id": "T" * 33},
}
PAYLOADS = {
    "block_actions with no action": {**ACTION, "actions": []},
    "block_actions with a non-list action": {**ACTION, "actions": "x"},
    "block_actions without user": without(ACTION, "user"),
    "block_actions with a user id over 32 characters": {**ACTION, "user": {"id": "U" * 33}},
    "view_submission without user": {"type": "view_submission", "view": {"callback_id": "x"}},
}
EVENTS = {
    "app_home_opened without user": {"type": "app_home_opened", "tab": "home"},
    "app_home_opened with a user id that is a list": {"type": "app_home_opened", "user": ["U1"]},
    "reaction_added without user": {"type": "reaction_added", "reaction": "x", "item": {}},
    "event without a type": {"user": ALICE},
}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_missing_or_garbling_an_id_is_refused(
    slack: SlackUser, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = slack.post(slack.requests.sign(urlencode(COMMANDS[name]), FORM))
    assert answer.status == 400
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("name", PAYLOADS)
def test_an_interaction_missing_what_its_listener_needs_is_refused(
    slack: SlackUser, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = urlencode({"payload": json.dumps(PAYLOADS[name])})
    answer = slack.post(slack.requests.sign(body, FORM))
    assert answer.status == 400
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("name", EVENTS)
def test_an_event_missing_what_its_listener_needs_is_refused(
    slack: SlackUser, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = slack.post(slack.requests.event(EVENTS[name], event_id=f"Ev{len(name)}"))
    assert answer.status == 400
    assert tracebacks(caplog) == []


def test_a_very_long_timezone_gets_a_clear_answer(
    slack: SlackUser, caplog: pytest.LogCaptureFixture
) -> None:
    answer = slack.command("set timezone " + "x" * 4000, command="/maker")
    assert answer.status == 200
    assert "timezone" in answer.text.lower()
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("name", ["x" * 4000, "../../etc/passwd", "Europe/Berlin\x00", ""])
def test_odd_timezone_names_are_unknown(name: str) -> None:
    assert not is_known_timezone(name)


def test_a_failing_listener_answers_calmly_without_a_500(
    slack: SlackUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers.slack, "Caller", broken)
    answer = slack.command("add Ship it")
    assert answer.status == 200
    assert "nothing was changed" in answer.text


@pytest.mark.parametrize("item", ["payload schema checks", "payload=42 in the logs"])
def test_a_command_that_mentions_payload_is_answered(slack: SlackUser, item: str) -> None:
    added = slack.command(f"add {item}")
    assert added.status == 200
    assert "Added" in added.body
    assert item.split()[0] in slack.command("").body
