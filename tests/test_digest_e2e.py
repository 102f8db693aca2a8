"""The weekly ML sync digest end to end: posted in the team's timezone, built from each feature."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app.factory import Focusbot
from bot.common import digest
from bot.common.digest import DigestLine, DigestSection
from bot.console.fakeslack import FakeSlack
from handlers.blocks import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from handlers.digest import digest_blocks
from storage.base import Workspace
from storage.db import session_scope
from storage.schedule import SENT, ScheduledPost
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, TEAM, SlackUser, message_text

SIX_HOURS = timedelta(hours=6)


def channel_posts(fake_slack: FakeSlack) -> list[dict]:
    """Return what was posted in team channels (not in DMs)."""
    return [c for c in fake_slack.calls_to("chat.postMessage") if str(c["channel"]).startswith("C")]


def ticks_until(
    focusbot: Focusbot, start: datetime, end: datetime, step: timedelta = timedelta(minutes=30)
) -> list[datetime]:
    """Tick every step from start to end; return when something was sent."""
    sent = []
    moment = start
    with freeze_time(moment) as clock:  # moved, not frozen anew: each freeze scans every module
        while moment < end:
            clock.move_to(moment)
            if focusbot.scheduler.tick().sent:
                sent.append(moment)
            moment += step
    return sent


def digests_due(focusbot: Focusbot) -> list[datetime]:
    """Return when each digest that went out was due."""
    with session_scope(focusbot.services.engine) as session:
        posts = session.exec(
            select(ScheduledPost).where(
                ScheduledPost.kind == digest.DIGEST_KIND, ScheduledPost.state == SENT
            )
        )
        return sorted(post.due_at for post in posts)


def test_the_digest_goes_out_monday_10_00_in_the_teams_timezone_with_every_section(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    # Alice (Europe/Berlin) logs the channel's first pain point on Wednesday 18 November 2026.
    with freeze_time(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=True):
        slack.command("GPU queue takes forever", command="/pain")
        slack.command("+1 1", user=BOB, command="/pain")
        slack.command("+1 1", user=CAROL, command="/pain")
        slack.command("add Ship the eval harness")
        slack.command("done 1")
    fake_slack.clear()
    # Monday 23 November: the focus check at 09:30 in Berlin, the digest at 10:00 (09:00 UTC).
    sent = ticks_until(
        focusbot,
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )
    assert sent == [
        datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    ]
    post = channel_posts(fake_slack)[-1]
    assert post["channel"] == CHANNEL
    text = message_text(post)
    assert "Weekly ML sync digest" in text
    assert "Mon 16 Nov – Mon 23 Nov 2026" in text
    assert f"*New pain points*\n• #1 GPU queue takes forever — <@{ALICE}>" in text
    assert "*Top themes, last 8 weeks*\n• GPU queue takes forever — 3 people, rising (new)" in text
    assert (
        f"*Themes that crossed the demand threshold*\n• GPU queue takes forever — <@{ALICE}>"
        in text
    )
    assert "Finished: Ship the eval harness" in text
    assert text.index("Focus this week") < text.index("New pain points")


def test_the_digest_keeps_its_local_time_across_the_dst_change(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2027, 3, 17, 12, 0, tzinfo=UTC), tick=True):
        slack.command("GPU queue takes forever", user=BOB, command="/pain")  # New York
    # New York springs forward on 14 March, Berlin on 28 March; 10:00 in New York stays 14:00 UTC.
    ticks_until(
        focusbot, datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC), SIX_HOURS
    )
    assert digests_due(focusbot) == [
        datetime(2027, 3, 22, 14, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 14, 0, tzinfo=UTC),
        datetime(2027, 4, 5, 14, 0, tzinfo=UTC),
    ]


@pytest.mark.both_transports
def test_the_schedule_moves_and_turns_off_and_the_digest_shows_now_only_to_the_caller(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2026, 10, 21, 12, 0, tzinfo=UTC), tick=True):
        slack.command("No access to the clickstream table", user=CAROL, command="/pain")
        now = slack.command("digest", command="/pain")
        assert now.json.get("response_type") != "in_channel"
        assert "#1 No access to the clickstream table" in now.text
        assert "posted here Mondays at 10:00 (Asia/Kolkata)" in now.text
        moved = slack.command("digest schedule fri 16:30 Europe/Berlin", command="/pain")
        assert "Fridays at 16:30 (Europe/Berlin)" in moved.text
        assert (
            "is not a weekday" in slack.command("digest schedule xyz 10:00", command="/pain").text
        )
    # Berlin leaves summer time on 25 October: Friday 30 October 16:30 there is 15:30 UTC.
    ticks_until(
        focusbot, datetime(2026, 10, 22, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), SIX_HOURS
    )
    assert digests_due(focusbot) == [
        datetime(2026, 10, 23, 14, 30, tzinfo=UTC),
        datetime(2026, 10, 30, 15, 30, tzinfo=UTC),
    ]
    with freeze_time(datetime(2026, 11, 1, tzinfo=UTC), tick=True):
        assert "is off" in slack.command("digest off", command="/pain").text
    assert (
        ticks_until(
            focusbot,
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 9, tzinfo=UTC),
            SIX_HOURS,
        )
        == []
    )


def test_only_leads_change_the_digest_schedule(slack: SlackUser) -> None:
    slack.command(f"leads add <@{CAROL}|carol>", command="/pain")
    refused = slack.command("digest off", command="/pain")
    assert "Only the workspace's leads may do that" in refused.text


def test_a_digest_at_any_volume_stays_within_block_kit_limits() -> None:
    window = digest.window_ending(
        Workspace(TEAM), CHANNEL, datetime(2026, 11, 23, 9, tzinfo=UTC), "Europe/Berlin"
    )
    sections = [
        DigestSection(
            f"Section {number}",
            tuple(DigestLine(f"pain <!channel> {line} " + "x" * 400, (BOB,)) for line in range(47)),
            order=number,
        )
        for number in range(80)
    ]
    blocks = [block.to_dict() for block in digest_blocks(sections, window)]
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    texts = [block["text"]["text"] for block in blocks if block["type"] == "section"]
    assert all(len(text) <= MAX_SECTION_TEXT for text in texts)
    assert texts[0].endswith("_…and 37 more_")
    assert "<!channel>" not in json.dumps(blocks)
    assert "more blocks not shown" in message_text({"blocks": blocks})


def test_a_quiet_week_says_so(engine: Engine) -> None:
    window = digest.window_ending(
        Workspace(TEAM), CHANNEL, datetime(2026, 11, 23, tzinfo=UTC), "UTC"
    )
    assert "A quiet week" in message_text(
        {"blocks": [b.to_dict() for b in digest_blocks([], window)]}
    )
