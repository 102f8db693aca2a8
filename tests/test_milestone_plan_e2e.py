"""Planning probabilistically, end to end: approaches, what was tried, the forecast, calibration."""

import json
import re
import struct
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app.factory import Focusbot
from bot.common.digest import DigestWindow
from bot.console.fakeslack import FakeSlack, UploadedFile
from storage.base import Workspace
from tests.conftest import ALICE, CHANNEL, TEAM, SlackUser, buttons, message_text
from tests.test_milestones_e2e import Team, at, confidence, move


@pytest.fixture
def team(slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot) -> Iterator[Team]:
    """Return the team using /milestone."""
    yield Team(slack, fake_slack, focusbot)


def digest_lines(team: Team) -> list[str]:
    """Return the milestones' lines of the digest for the week up to now."""
    services = team.focusbot.services
    now = services.now()
    window = DigestWindow(Workspace(TEAM), CHANNEL, now - timedelta(weeks=1), now, "UTC")
    with services.session() as session:
        sections = [s for b in services.digest_sections if (s := b(session, window))]
    found = [s for s in sections if s.title == "Milestones"]
    return [line.text for line in found[0].lines] if found else []


def home_tab(team: Team) -> str:
    """Open Alice's Home tab; return what it shows."""
    published = len(team.fake.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
    team.slack.post(team.slack.requests.event(event, event_id=f"Ev{published:04d}"))
    view = team.fake.wait_for("views.publish", published + 1)[published]["view"]
    return message_text(json.loads(view) if isinstance(view, str) else view)


def png_size(content: bytes) -> tuple[int, int]:
    """Return a PNG's width and height, read from its header."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def uploaded_chart(fake: FakeSlack) -> UploadedFile:
    """Wait for the chart to be shared; return it."""
    fake.wait_for("files.completeUploadExternal", 1, timeout=30)
    [shared] = fake.shared
    return shared


def button(message: dict[str, Any], label: str, index: int) -> dict[str, Any]:
    """Return the index-th button with this label."""
    return [b for b in buttons(message) if b["text"]["text"] == label][index]


def chance_shown(text: str) -> int:
    """Return the milestone's chance shown above its approaches."""
    found = re.search(r"^\*#\d+ .*\* · (\d+)%$", text, re.MULTILINE)
    assert found, text
    return int(found[1])


def test_approaches_set_the_chance_that_at_least_one_works(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Rare-class recall above 0.8 target 2027-12-01 confidence 50%")
        added = team.say("approach 1 add distil the large model 40%")
        assert "Added approach 1" in added.text and chance_shown(added.text) == 40
        team.say("approach 1 add collect more rare examples 50%")
        assert chance_shown(team.say("approach 1").text) == 70  # 1 − 0.6 × 0.5
        changed = team.say("approach 1 2 20%")
        assert "Approach 2 of #1" in changed.text
        assert chance_shown(changed.text) == 52  # 1 − 0.6 × 0.8
        assert chance_shown(team.say("approach 1 drop 1").text) == 20  # approach 2 is left
        assert "1. distil" not in team.say("approach 1").text

        team.say("edit 1 confidence 65%")
        direct = team.say("approach 1 add focal loss 90%")
        assert chance_shown(direct.text) == 65
        assert "set 65% directly; the approaches say 92%" in direct.text
        assert chance_shown(team.say("edit 1 confidence auto").text) == 92  # 1 − 0.8 × 0.1

        history = team.say("show 1").text
        for change in (
            "added approach 1 “distil the large model” at 40%",
            "changed approach 2 “collect more rare examples” from 50% to 20%",
            "dropped approach 1 “distil the large model” (it was at 40%)",
            "changed the confidence from 65% to 92%",
        ):
            assert change in history
        assert "40% → 70% → 52% → 20% → 65% → 92%" in history

        move(clock, datetime(2027, 4, 5, 8, 0, tzinfo=UTC))
        [reminder] = team.tick()
        asked = message_text(reminder)
        assert "How likely is each approach now?" in asked
        assert "2. collect more rare examples — now 20%" in asked
        assert "3. focal loss — now 90%" in asked
        assert "distil" not in asked

        picker = team.open_modal(button(reminder, "Update chance", 0))
        assert "Approach 2: collect more rare examples" in message_text(picker)
        posted = len(team.fake.calls_to("chat.postMessage"))
        team.submit(picker, confidence(60))
        announced = team.fake.wait_for("chat.postMessage", posted + 1)[posted]
        assert "put approach 2 of #1 “Rare-class recall above 0.8” at 60%" in announced["text"]
        assert "the milestone is at 96%" in announced["text"]  # 1 − 0.4 × 0.1
        assert "changed approach 2 “collect more rare examples” from 20% to 60%" in (
            team.say("show 1").text
        )


def test_a_wrong_approach_changes_nothing(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        team.say("add Eval harness target in 10 weeks confidence 60%")
        refused = team.say("approach 1 drop 4")
        assert "#1 has no open approach 4" in refused.text and "Nothing was changed" in refused.text
        assert "Confidence is a percentage" in team.say("approach 1 1 140%").text
        assert "· 60%" in team.say("list").text
        help_text = team.say("help").text
        assert "/milestone approach <n> add <text> [<p>%]" in help_text.replace(
            "&lt;", "<"
        ).replace("&gt;", ">")
        assert "they count as independent: 1 − (1 − p₁)(1 − p₂)…" in help_text


def test_what_was_tried_shows_in_the_digest_and_home_tab(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Rare-class recall above 0.8 target 2027-12-01 confidence 50%")
        team.say("approach 1 add collect more rare examples 50%")
        logged = team.say("tried 1 focal loss -> worse on the rare classes")
        assert "Logged on #1" in logged.text and "focal loss → worse on the rare classes" in (
            logged.text
        )
        team.say("tried 1 approach 1 scrape the support tickets")
        assert "has no open approach 2" in team.say("tried 1 approach 2 mixup").text
        history = team.say("show 1").text
        assert "tried focal loss → worse on the rare classes" in history
        assert "tried scrape the support tickets (approach 1)" in history

        lines = digest_lines(team)
        assert (
            "Tried on #1 Rare-class recall above 0.8: focal loss → worse on the rare classes"
            in (lines)
        )
        assert (
            "Tried on #1 Rare-class recall above 0.8: scrape the support tickets (approach 1)"
            in lines
        )
        assert "2 tried in 4 weeks" in home_tab(team)

        move(clock, datetime(2027, 2, 8, 16, 0, tzinfo=UTC))  # five weeks on
        assert not any(line.startswith("Tried on") for line in digest_lines(team))
        assert "tried in 4 weeks" not in home_tab(team)


def figures(text: str) -> tuple[float, int]:
    """Return the forecast's expected count and its chance that all (required) land."""
    expected = re.search(r"Expected to land: \*([\d.]+) of", text)
    chance = re.search(r"lands: \*(\d+)%\*", text)
    assert expected and chance, text
    return float(expected[1]), int(chance[1])


def test_a_seeded_forecast_gives_the_expected_figures_on_a_known_plan(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        team.say("vision date 2027-12-31")
        team.say("add Eval harness target 2027-06-01 confidence 90%")
        team.say("add Labelled set target 2027-09-01 confidence 60%")
        team.say("add Distilled model target 2027-10-01 confidence 50%")
        team.say("add Second product line target 2028-03-01 confidence 80%")

        unmarked = team.say("forecast").text
        assert "after Fri 31 Dec 2027: counts as not landing" in unmarked
        assert "No milestone is marked required, so all of them count" in unmarked
        assert figures(unmarked)[1] == 0  # the late one never lands by the vision's date

        team.say("edit 1 required yes")
        team.say("edit 2 required yes")
        answer = team.say("forecast").text
        expected, all_required = figures(answer)
        # Analytically: 0.9 + 0.6 + 0.5 (+ 0 for the late one) and 0.9 × 0.6 for the required.
        # 20,000 runs: standard errors 0.005 and 0.35 points, so these bounds are over 4 of them.
        assert abs(expected - 2.0) <= 0.05
        assert abs(all_required - 54) <= 2
        assert "Chance that every required milestone lands" in answer
        assert team.say("forecast").text == answer  # seeded from the plan: the same answer

        team.say("edit 1 confidence 45%")
        _, lower = figures(team.say("forecast").text)
        assert abs(lower - 27) <= 2  # 0.45 × 0.6


def test_the_digest_shows_the_forecast_when_it_moves_more_than_10_points(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Eval harness target 2027-06-01 confidence 90%")
        team.say("add Labelled set target 2027-09-01 confidence 60%")
        [first] = [line for line in digest_lines(team) if line.startswith("Forecast")]
        assert first.startswith("Forecast: 54% chance that every open milestone lands")
        assert first.endswith("of 2 expected to land by then")

        move(clock, datetime(2027, 1, 11, 16, 0, tzinfo=UTC))
        team.say("edit 2 confidence 55%")  # 50%: moved 4 points
        assert not any(line.startswith("Forecast") for line in digest_lines(team))

        move(clock, datetime(2027, 1, 18, 16, 0, tzinfo=UTC))
        team.say("edit 2 confidence 40%")  # 36%: 18 points below the last shown
        [moved] = [line for line in digest_lines(team) if line.startswith("Forecast")]
        assert moved.startswith("Forecast: 36% (was 54%)")


def test_calibration_corrects_a_team_whose_80_percent_means_50(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        for number in range(1, 11):
            team.say(f"add Experiment {number} target in 8 weeks confidence 80%")
        for number in range(1, 6):
            team.say(f"achieved {number}")
        for number in range(6, 11):
            team.say(f"drop {number}")
        report = team.say("calibration").text
        assert "you say 80%, your 80–100% have landed 50% of the time (5 of 10)" in report
        assert "adjusted: 59%" in report  # (5 + 4 × 0.8) / (10 + 4)

        team.say("add Ship the ranker target in 10 weeks confidence 80%")
        assert "80% (history says ~59%)" in team.say("list").text
        forecast = team.say("forecast").text
        assert "Chance that every open milestone lands: *80%*" in forecast
        assert "Recalibrated by the team's history: expected *0.6*, all land *59%*" in forecast


def test_calibration_waits_for_enough_history(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        for number in range(1, 4):
            team.say(f"add Experiment {number} target in 8 weeks confidence 80%")
            team.say(f"drop {number}")
        report = team.say("calibration").text
        assert "After 8 ended milestones" in report and "(3 so far)" in report
        team.say("add Ship the ranker target in 10 weeks confidence 80%")
        assert "history says" not in team.say("list").text
        assert "Recalibrated" not in team.say("forecast").text


def test_the_calibration_chart_is_uploaded_as_a_legible_png(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Eval harness target in 10 weeks confidence 60%")
        team.say("add Labelled set target in 20 weeks confidence 30%")
        move(clock, datetime(2027, 1, 20, 16, 0, tzinfo=UTC))
        team.say("edit 1 confidence 75%")
        team.say("achieved 1")
        answer = team.say("calibration chart")
        assert "Drawing “Milestone confidence and calibration”" in answer.text
        shared = uploaded_chart(team.fake)
    assert shared.channel == CHANNEL
    assert shared.title == "Milestone confidence and calibration"
    assert png_size(shared.content) == (1200, 675)
    assert len(shared.content) > 20_000  # drawn, not blank
    assert "confidence over time of 1 open milestone." in shared.alt_text
    assert "said 60%, 100% landed of 1" in shared.alt_text


def test_without_matplotlib_a_chart_command_says_how_to_enable_charts(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it was never installed
    with at("2027-01-04 16:00:00"):
        team.say("add Eval harness target in 10 weeks confidence 60%")
        answer = team.say("calibration chart")
    assert "pip install 'focusbot[charts]'" in answer.text
    assert team.fake.calls_to("files.getUploadURLExternal") == []
