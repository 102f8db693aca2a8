"""Pictures on request: `/pain top chart` and `/maker kept chart` post a legible PNG."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from bot import maker
from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack
from storage.base import Workspace
from storage.db import session_scope
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, TEAM, SlackUser
from tests.test_console import focusbot as console
from tests.test_maker_calendar import SECRET_PATH, START, FeedServer, tick_until_quiet
from tests.test_milestone_plan_e2e import png_size, uploaded_chart


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    """Serve iCal feeds on loopback."""
    server = FeedServer()
    yield server
    server.stop()


def test_pain_top_chart_draws_distinct_people_per_week(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    with freeze_time("2027-03-01 09:00:00", tick=True) as clock:
        slack.command("The GPU queue takes hours to start a job", command="/pain")
        clock.move_to(datetime(2027, 3, 8, 9, 0, tzinfo=UTC))
        slack.command("+1 1", user=BOB, command="/pain")
        slack.command("Evaluation results differ between runs", user=CAROL, command="/pain")
        clock.move_to(datetime(2027, 3, 15, 9, 0, tzinfo=UTC))
        slack.command("+1 1", user=CAROL, command="/pain")
        clock.move_to(datetime(2027, 3, 18, 12, 0, tzinfo=UTC))  # weeks start Wednesdays, noon
        answer = slack.command("top chart 3", command="/pain")
        assert "Drawing “Pain themes: people per week, last 3 weeks”" in answer.text
        shared = uploaded_chart(fake_slack)
    assert shared.channel == CHANNEL
    assert shared.title == "Pain themes: people per week, last 3 weeks"
    assert png_size(shared.content) == (1200, 675)
    assert "The GPU queue takes hours to start a job: 1, 1, 1" in shared.alt_text
    assert "Evaluation results differ between runs: 0, 1, 0" in shared.alt_text


def test_pain_top_chart_with_no_pain_says_so(slack: SlackUser, fake_slack: FakeSlack) -> None:
    answer = slack.command("top chart", command="/pain")
    assert "nothing to draw" in answer.text
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def test_maker_kept_chart_draws_the_share_kept_per_week(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    with freeze_time(START, tick=True):
        assert "nothing to draw yet" in slack.command("kept chart", command="/maker").text
        slack.command("set timezone Europe/Berlin", command="/maker")
        slack.command(f"calendar {feeds.url(SECRET_PATH)}", channel="D0ALICE", command="/maker")
        tick_until_quiet(focusbot)
        answer = slack.command("kept chart 4", command="/maker", user=ALICE)
        assert "Drawing “Maker time kept per week, last 4 weeks”" in answer.text
        shared = uploaded_chart(fake_slack)
        now = focusbot.services.now()
        with session_scope(focusbot.services.engine) as session:
            last_week = maker.maker_time_kept(
                session, Workspace(TEAM), CHANNEL, now - timedelta(weeks=1), now
            )
    assert last_week is not None
    assert shared.title == "Maker time kept per week, last 4 weeks"
    assert png_size(shared.content) == (1200, 675)
    assert shared.alt_text.endswith(f"{last_week.share * 100:.0f}%.")
    assert "Share of the team's maker time free of meetings" in shared.alt_text


def test_the_console_shows_a_chart_as_a_saved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    script = "\n".join(
        [
            "/milestone add Eval harness target in 10 weeks confidence 60%",
            "/milestone calibration chart",
            "quit",
        ]
    )
    result = console("console", stdin=script, database=tmp_path / "console.db")
    assert result.returncode == 0, result.stderr
    assert "file, in #ml-team" in result.stdout
    [saved] = (tmp_path / "focusbot-console").glob("*.png")
    assert (
        f"milestone-calibration.png · {saved.stat().st_size / 1000:.1f} kB · saved to {saved}"
        in (result.stdout)
    )
    assert png_size(saved.read_bytes()) == (1200, 675)
    assert "Left: confidence over time of 1 open milestone." in result.stdout
