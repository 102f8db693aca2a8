"""Logging messages as pain points (shortcut, reaction) and exporting them, end to end."""

import csv
import io
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.console.fakeslack import FakeSlack, Scripted
from storage.schedule import FAILED, PENDING, ScheduledPost
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, TEAM, SlackUser, message_text

MESSAGE = {
    "type": "message",
    "user": BOB,
    "ts": "1763900000.000200",
    "text": "our CI takes 45 minutes for a one line change <!here>",
}


def use_shortcut(slack: SlackUser, message: dict[str, Any], user: str = ALICE) -> Any:
    """Use the "Log as pain point" shortcut on a message."""
    slack.last_response_url = slack.fake.response_url("shortcut")
    payload = {
        "type": "message_action",
        "callback_id": "pain_log_message",
        "trigger_id": f"{user}.{message['ts']}.trigger",
        "response_url": slack.last_response_url,
        "team": {"id": TEAM, "domain": "focusbot-local"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "channel": {"id": CHANNEL, "name": "ml-team"},
        "message": message,
        "message_ts": message["ts"],
        "token": "legacy-verification-token",
        "api_app_id": "AFOCUSBOT",
        "is_enterprise_install": False,
    }
    body = urlencode({"payload": json.dumps(payload)})
    return slack.post(slack.requests.sign(body, "application/x-www-form-urlencoded"))


def react(slack: SlackUser, emoji: str, user: str = CAROL, event_id: str = "Ev1") -> Any:
    """React to MESSAGE with an emoji."""
    event = {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item_user": BOB,
        "item": {"type": "message", "channel": CHANNEL, "ts": MESSAGE["ts"]},
        "event_ts": "1763900100.000100",
    }
    return slack.post(slack.requests.event(event, event_id=event_id))


@pytest.mark.both_transports
def test_the_shortcut_logs_the_message_with_its_permalink_and_its_author_as_reporter(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    assert use_shortcut(slack, MESSAGE).status == 200
    [reply] = slack.responses()
    assert "Logged pain point *#1*: “our CI takes 45 minutes" in message_text(reply)
    assert "<!here>" not in json.dumps(reply)
    shown = slack.command("show 1", command="/pain").text
    assert f"Reported by <@{BOB}>" in shown
    assert "archives/C0MLTEAM/p1763900000000200|Original message" in shown

    use_shortcut(slack, MESSAGE, user=CAROL)
    assert "already pain point #1" in message_text(slack.fake.wait_for("/response/shortcut", 2)[1])
    assert "#2" not in slack.command("list", command="/pain").text


def test_a_message_without_text_is_not_logged(slack: SlackUser) -> None:
    use_shortcut(slack, {**MESSAGE, "text": "  "})
    [reply] = slack.responses()
    assert "no text to log" in message_text(reply)
    assert "No pain points" in slack.command("list", command="/pain").text


@pytest.mark.both_transports
def test_the_reaction_logs_the_message_once_it_is_turned_on(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    history = Scripted(body={"ok": True, "messages": [MESSAGE], "has_more": False})
    react(slack, "pain")
    assert fake_slack.calls_to("conversations.history") == []  # off until set
    assert (
        "Logging pain points by reaction is off" in slack.command("reaction", command="/pain").text
    )
    turned_on = slack.command("reaction :pain:", command="/pain").text
    assert "Reacting with :pain: to a message logs it" in turned_on

    react(slack, "thumbsup", event_id="Ev2")
    fake_slack.script("conversations.history", history)
    react(slack, "pain", event_id="Ev3")
    [confirmation] = fake_slack.wait_for("chat.postEphemeral")
    assert confirmation["user"] == CAROL
    assert "Logged pain point *#1*" in message_text(confirmation)
    assert f"Reported by <@{BOB}>" in slack.command("show 1", command="/pain").text

    fake_slack.script("conversations.history", history)
    react(slack, "pain", user=ALICE, event_id="Ev4")
    second = fake_slack.wait_for("chat.postEphemeral", 2)[1]
    assert "already pain point #1" in message_text(second)
    assert (
        "Logging pain points by reaction is off"
        in slack.command("reaction off", command="/pain").text
    )


def test_a_lead_gets_the_csv_in_a_dm_and_others_are_refused(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    slack.command("GPU queue takes forever", command="/pain")
    slack.command("Our CI takes 45 minutes", user=BOB, command="/pain")
    slack.command(f"leads add <@{CAROL}|carol>", command="/pain")

    refused = slack.command("export", user=BOB, command="/pain")
    assert "Only the workspace's leads may do that" in refused.text
    assert fake_slack.calls_to("files.getUploadURLExternal") == []

    accepted = slack.command("export", user=CAROL, command="/pain")
    assert "Preparing the CSV" in accepted.text
    [completed] = fake_slack.wait_for("files.completeUploadExternal")
    assert completed["channel_id"] == "D0CAROL"
    assert "2 rows" in completed["initial_comment"]
    [asked] = fake_slack.calls_to("files.getUploadURLExternal")
    assert asked["filename"].startswith("pain-points-") and asked["filename"].endswith(".csv")
    [shared] = fake_slack.shared
    uploaded = shared.content.decode()
    assert uploaded.startswith("number,") and "GPU queue takes forever" in uploaded


def _calls(fake_slack: FakeSlack) -> list[tuple[str, dict[str, Any]]]:
    return [(call.method, call.params) for call in fake_slack.calls]


def test_export_writes_csv_rows_that_read_back(slack: SlackUser, focusbot: Any) -> None:
    from bot.pain import export_pain_points

    slack.command("GPU queue takes forever, badly", command="/pain")
    slack.command("+1 1", user=BOB, command="/pain")
    out = io.StringIO()
    assert export_pain_points(focusbot.services.engine, "csv", out) == 1
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["text"] == "GPU queue takes forever, badly"
    assert row["people"] == f"{ALICE} {BOB}"


def test_a_reaction_is_logged_once_when_slack_fails_for_a_while(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Any
) -> None:
    """Slack answers 500 to the first reads: the capture waits in the outbox until Slack is back."""
    slack.command("reaction :pain:", command="/pain")
    failing = Scripted(status=500, body={"ok": False, "error": "internal_error"})
    with freeze_time(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        fake_slack.script("conversations.history", failing, failing)
        assert react(slack, "pain", event_id="EvFlaky").status == 200
        wait_for_capture(focusbot, PENDING)
        assert focusbot.scheduler.tick().retried == 1  # Slack still answers 500
    assert fake_slack.calls_to("chat.postEphemeral") == []

    with freeze_time(datetime(2026, 11, 2, 9, 5, tzinfo=UTC), tick=True):
        fake_slack.script(
            "conversations.history", Scripted(body={"ok": True, "messages": [MESSAGE]})
        )
        assert focusbot.scheduler.tick().sent == 1
        assert focusbot.scheduler.tick().sent == 0
    [confirmation] = fake_slack.calls_to("chat.postEphemeral")
    assert confirmation["user"] == CAROL
    assert "Logged pain point *#1*" in message_text(confirmation)
    assert f"Reported by <@{BOB}>" in slack.command("show 1", command="/pain").text
    assert "#2" not in slack.command("list", command="/pain").text
    assert len(fake_slack.calls_to("conversations.history")) == 3


def test_a_reaction_slack_refuses_to_read_ends_as_a_failed_capture(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Any
) -> None:
    slack.command("reaction :pain:", command="/pain")
    with freeze_time(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        fake_slack.script(
            "conversations.history",
            Scripted(status=500, body={"ok": False, "error": "internal_error"}),
            Scripted(body={"ok": False, "error": "channel_not_found"}),
        )
        assert react(slack, "pain", event_id="EvGone").status == 200
        wait_for_capture(focusbot, PENDING)
        assert focusbot.scheduler.tick().failed == 1
    capture = wait_for_capture(focusbot, FAILED)
    assert "channel_not_found" in (capture.last_error or "")
    assert fake_slack.calls_to("chat.postEphemeral") == []
    assert "No pain points" in slack.command("list", command="/pain").text


def wait_for_capture(focusbot: Any, state: str) -> ScheduledPost:
    """Wait until the reaction's capture is in the outbox in this state; return it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with focusbot.services.session() as session:
            posts = session.exec(
                select(ScheduledPost).where(ScheduledPost.kind == "pain.capture_reaction")
            ).all()
            if [post.state for post in posts] == [state]:
                session.expunge(posts[0])
                return posts[0]
        time.sleep(0.02)
    raise AssertionError(f"no capture is {state} in the outbox")
