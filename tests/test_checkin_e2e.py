"""The weekly focus check end to end: a list made over HTTP, posted in the team's timezone."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack, Scripted
from tests.conftest import BOB, CHANNEL, SlackUser, message_text


def test_the_weekly_check_posts_the_list_and_points_out_stalled_items(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    # Alice (Europe/Berlin) starts the list on Wednesday 7 October 2026.
    with freeze_time(datetime(2026, 10, 7, 10, 0, tzinfo=UTC), tick=True):
        slack.command("add Rewrite the feature pipeline")
    with freeze_time(datetime(2026, 11, 16, 10, 0, tzinfo=UTC), tick=True):
        focusbot.scheduler.tick()  # the checks missed while the bot was down go out once
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        fake_slack.clear()
        slack.command("add Try the new tokenizer <@U0BOB|bob>")

    # Monday 23 November, 09:30 in Berlin is 08:30 UTC.
    with freeze_time(datetime(2026, 11, 23, 8, 29, tzinfo=UTC)):
        focusbot.scheduler.tick()
    assert fake_slack.calls_to("chat.postMessage") == []
    with freeze_time(datetime(2026, 11, 23, 8, 30, tzinfo=UTC)):
        focusbot.scheduler.tick()
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post["channel"] == CHANNEL
    text = message_text(post)
    assert "Weekly focus check" in text
    assert (
        "Worth talking about" in text and "Rewrite the feature pipeline — in focus 46 days" in text
    )
    assert f"Try the new tokenizer\n<@{BOB}> · in focus 6 days" in text


def test_the_weekly_check_keeps_its_local_time_across_the_dst_change(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2027, 3, 17, 12, 0, tzinfo=UTC), tick=True):
        slack.command("add Ship the eval harness", user=BOB)  # Bob lives in New York
    delivered_at = []
    # New York springs forward on 14 March 2027, Berlin on 28 March: walk through both weeks.
    moment = datetime(2027, 3, 20, 0, 0, tzinfo=UTC)
    with freeze_time(moment) as clock:  # moved, not frozen anew: each freeze scans every module
        while moment < datetime(2027, 4, 6, tzinfo=UTC):
            clock.move_to(moment)
            if focusbot.scheduler.tick().sent:
                delivered_at.append(moment)
            moment += timedelta(minutes=30)
    # Monday 09:30 in New York is 13:30 UTC in daylight time, week after week.
    assert delivered_at == [
        datetime(2027, 3, 22, 13, 30, tzinfo=UTC),
        datetime(2027, 3, 29, 13, 30, tzinfo=UTC),
        datetime(2027, 4, 5, 13, 30, tzinfo=UTC),
    ]


def test_a_check_in_to_a_channel_the_bot_cannot_post_in_is_recorded_and_others_go_on(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=True):
        slack.command("add alpha", channel="C0GONE")
        slack.command("add beta", channel="C0FINE")
    fake_slack.script(
        "chat.postMessage", Scripted(200, {"ok": False, "error": "channel_not_found"})
    )
    with freeze_time(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        report = focusbot.scheduler.tick()
    assert (report.sent, report.failed) == (1, 1)
    assert "Slack said channel_not_found" in report.errors


def test_turning_the_check_off_stops_it(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=True):
        slack.command("add alpha")
        slack.command("checkin off")
    with freeze_time(datetime(2026, 12, 30, 12, 0, tzinfo=UTC)):
        focusbot.scheduler.tick()
    assert fake_slack.calls_to("chat.postMessage") == []
