"""`/milestone` end to end: signed requests in, what the fake Slack received out, frozen time."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory, StepTickTimeFactory, TickingDateTimeFactory

from bot.app.factory import Focusbot
from bot.common.digest import DigestWindow
from bot.console.fakeslack import FakeSlack
from handlers.milestones import CONFIDENCE_BLOCK, DATE_BLOCK, REASON_BLOCK
from storage.base import Workspace
from tests.conftest import ALICE, BOB, CHANNEL, TEAM, Answer, SlackUser, buttons, message_text

Clock = FrozenDateTimeFactory | StepTickTimeFactory | TickingDateTimeFactory
FORBIDDEN = re.compile(r"deadline|overdue", re.IGNORECASE)
OTHER_CHANNEL = "C0OTHER"


class Team:
    """People using /milestone in Slack; remembers everything focusbot showed them."""

    def __init__(self, slack: SlackUser, fake: FakeSlack, focusbot: Focusbot) -> None:
        self.slack, self.fake, self.focusbot = slack, fake, focusbot
        self.seen: list[str] = []

    def say(self, text: str, *, user: str = ALICE, channel: str = CHANNEL) -> Answer:
        """Type `/milestone <text>`."""
        answer = self.slack.command(text, user=user, channel=channel, command="/milestone")
        assert answer.status == 200
        self.seen.append(answer.text)
        return answer

    def tick(self) -> list[dict[str, Any]]:
        """Deliver what is due; return the messages posted by it."""
        before = len(self.fake.calls_to("chat.postMessage"))
        self.focusbot.scheduler.tick()
        return self.fake.calls_to("chat.postMessage")[before:]

    def click(self, button: dict[str, Any], *, user: str = ALICE) -> None:
        """Click a button in a channel message."""
        assert self.slack.click(button, user=user).status == 200

    def open_modal(self, button: dict[str, Any], *, user: str = ALICE) -> dict[str, Any]:
        """Click a button that opens a modal; return the modal."""
        opened = len(self.fake.calls_to("views.open"))
        self.click(button, user=user)
        view = self.fake.wait_for("views.open", opened + 1)[opened]["view"]
        view = json.loads(view) if isinstance(view, str) else view
        self.seen.append(message_text(view))
        return view

    def submit(self, view: dict[str, Any], values: dict[str, Any], *, user: str = ALICE) -> Answer:
        """Submit a modal with these state values."""
        answer = self.slack.post(self.slack.requests.view_submission(view, values, user_id=user))
        assert answer.status == 200
        return answer

    def everything_shown(self) -> str:
        """Return every answer, message, modal and Home tab focusbot produced."""
        calls = [json.dumps(call.params, ensure_ascii=False) for call in self.fake.calls]
        return "\n".join(self.seen + calls)


@pytest.fixture
def team(slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot) -> Iterator[Team]:
    """Return the team; afterwards, check it never read the words "deadline" or "overdue"."""
    people = Team(slack, fake_slack, focusbot)
    yield people
    assert not FORBIDDEN.search(people.everything_shown())


def at(moment: str) -> Any:
    """Freeze time at a UTC moment, letting it tick so the HTTP round trips finish."""
    return freeze_time(moment, tick=True)


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """Return the button with this label."""
    return next(b for b in buttons(message) if b["text"]["text"] == label)


def confidence(value: int) -> dict[str, Any]:
    """Return the confidence picker's state for a value."""
    option = {"text": {"type": "plain_text", "text": f"{value}%"}, "value": str(value)}
    return {CONFIDENCE_BLOCK: {"confidence": {"type": "static_select", "selected_option": option}}}


def new_target(day: str, reason: str = "") -> dict[str, Any]:
    """Return the move-target modal's state for a date and reason."""
    return {
        DATE_BLOCK: {"date": {"type": "datepicker", "selected_date": day}},
        REASON_BLOCK: {"reason": {"type": "plain_text_input", "value": reason or None}},
    }


def move(clock: Clock, moment: datetime) -> None:
    """Jump the frozen clock to a UTC moment."""
    clock.move_to(moment)


@pytest.mark.both_transports
def test_a_full_13_week_cycle_answered_on_track(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        added = team.say("add Eval harness runs nightly target 2027-12-01 confidence 60%")
        assert "Added #1 “Eval harness runs nightly”, target Wed 1 Dec 2027 at 60%" in added.text
        assert "First revisit: Mon 5 Apr 2027 10:00" in added.text  # Alice is in Berlin

        move(clock, datetime(2027, 4, 5, 7, 59, tzinfo=UTC))
        assert team.tick() == []
        move(clock, datetime(2027, 4, 5, 8, 0, tzinfo=UTC))  # 10:00 CEST
        [reminder] = team.tick()
        assert team.tick() == []  # delivered once
        assert reminder["channel"] == CHANNEL
        text = message_text(reminder)
        assert "Time to revisit a milestone" in text and "Eval harness runs nightly" in text
        assert "13 weeks since it was last revisited" in text
        assert [b["text"]["text"] for b in buttons(reminder)] == [
            "On track",
            "Move target",
            "Achieved",
            "Drop",
        ]

        modal = team.open_modal(button(reminder, "On track"), user=BOB)
        assert modal["title"]["text"] == "On track"
        picker = modal["blocks"][1]["element"]
        assert picker["type"] == "static_select"
        assert picker["initial_option"]["value"] == "60"
        assert team.submit(modal, confidence(70), user=BOB).body == ""
        [announced] = team.fake.wait_for("chat.postMessage", 2)[1:]
        assert "<@U0BOB> revisited #1" in announced["text"]
        assert "on track at 70%. Next revisit: Mon 5 Jul 2027 10:00" in announced["text"]

        history = team.say("show 1").text
        assert "<@U0ALICE> added it with target Wed 1 Dec 2027 at 60%" in history
        assert "<@U0BOB> changed the confidence from 60% to 70%" in history
        assert "<@U0BOB> revisited it: on track at 70%" in history
        assert "`▅▆` 60% → 70%" in history

        move(clock, datetime(2027, 4, 12, 8, 0, tzinfo=UTC))
        assert team.tick() == []  # answered, so no repeat a week later
        move(clock, datetime(2027, 7, 5, 8, 0, tzinfo=UTC))
        [next_reminder] = team.tick()
        assert "Eval harness runs nightly" in message_text(next_reminder)


def test_an_unanswered_reminder_is_repeated_once_then_rolls_into_the_digest(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("vision Every model ships with an eval that explains it")
        team.say("add Eval harness runs nightly target 2027-12-01")
        move(clock, datetime(2027, 4, 5, 8, 0, tzinfo=UTC))
        [first] = team.tick()
        move(clock, datetime(2027, 4, 12, 8, 0, tzinfo=UTC))
        [repeat] = team.tick()
        assert "nobody has answered this revisit yet" in message_text(repeat)
        assert "nobody has answered" not in message_text(first)
        move(clock, datetime(2027, 4, 19, 8, 0, tzinfo=UTC))
        assert team.tick() == []

        services = team.focusbot.services
        now = services.now()
        window = DigestWindow(
            Workspace(TEAM), CHANNEL, now - timedelta(weeks=1), now, "Europe/Berlin"
        )
        with services.session() as session:
            sections = [s for b in services.digest_sections if (s := b(session, window))]
        [section] = [s for s in sections if s.title == "Milestones"]
        lines = [line.text for line in section.lines]
        assert lines[0] == "Vision: Every model ships with an eval that explains it"
        assert lines[1].startswith("Due for revisit: #1 Eval harness runs nightly")
        assert "awaiting a revisit · target Wed 1 Dec 2027" in team.say("list").text


def test_a_passed_target_asks_for_a_revisit_and_a_moved_target_is_recorded(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Labelled set of 10k images target in 3 weeks confidence 80%", user=BOB)
        move(clock, datetime(2027, 1, 25, 14, 59, tzinfo=UTC))
        assert team.tick() == []
        move(clock, datetime(2027, 1, 25, 15, 0, tzinfo=UTC))  # 10:00 in New York, Bob's zone
        [reminder] = team.tick()
        assert "Its target date has arrived" in message_text(reminder)

        move(clock, datetime(2027, 1, 27, 12, 0, tzinfo=UTC))
        listed = team.say("list").text
        assert "target passed — time to revisit (target was Mon 25 Jan 2027)" in listed

        modal = team.open_modal(button(reminder, "Move target"))
        assert modal["blocks"][1]["element"]["initial_date"] == "2027-01-25"
        refused = team.submit(modal, new_target("2027-01-20"))
        assert "not in the future" in refused.json["errors"][DATE_BLOCK]
        assert team.submit(modal, new_target("2027-03-15", "the vendor slipped <!here>")).body == ""
        [announced] = team.fake.wait_for("chat.postMessage", 2)[1:]
        assert "to Mon 15 Mar 2027 — the vendor slipped @here" in announced["text"]
        assert "<!here>" not in json.dumps(announced)

        listed = team.say("list").text
        assert "target Mon 15 Mar 2027 (in 6 weeks)" in listed and "passed" not in listed
        history = team.say("show 1").text
        assert (
            "moved the target from Mon 25 Jan 2027 to Mon 15 Mar 2027 — the vendor slipped @here"
            in history
        )

        move(clock, datetime(2027, 2, 1, 15, 0, tzinfo=UTC))
        assert team.tick() == []  # the old reminder's repeat was answered away
        move(clock, datetime(2027, 3, 15, 14, 0, tzinfo=UTC))  # 10:00 EDT: DST began 14 March
        [on_new_target] = team.tick()
        assert "Its target date has arrived" in message_text(on_new_target)


def test_a_reminder_keeps_its_local_time_across_a_daylight_saving_change(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Retrain on fresh data target end of year", user=BOB)  # New York, EST
        move(clock, datetime(2027, 4, 5, 13, 59, tzinfo=UTC))
        assert team.tick() == []
        move(clock, datetime(2027, 4, 5, 14, 0, tzinfo=UTC))  # 10:00 EDT, not 10:00 EST (15:00)
        [reminder] = team.tick()
        assert "Retrain on fresh data" in message_text(reminder)


@pytest.mark.both_transports
def test_achieved_and_drop_buttons_end_milestones_and_feed_calibration(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add First target in 2 weeks confidence 80%")
        team.say("add Second target in 2 weeks confidence 40%")
        move(clock, datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
        first, second = team.tick()
        team.click(button(first, "Achieved"), user=BOB)
        [updated] = team.slack.responses()
        assert updated["replace_original"] is True
        assert "<@U0BOB> marked #1 “First” achieved" in updated["text"]
        team.click(button(second, "Drop"))
        assert "dropped #2 “Second”" in team.slack.responses()[0]["text"]

        team.click(button(first, "Achieved"))
        assert "already achieved" in team.slack.responses()[0]["text"]

        calibration = team.say("calibration").text
        brier = ((0.8 - 1) ** 2 + (0.4 - 0) ** 2) / 2
        assert f"Brier score of the first confidence: *{brier:.3f}*" in calibration
        assert "40–59%" in calibration and "80–100%" in calibration
        assert "2 ended milestones" in calibration

        move(clock, datetime(2027, 1, 25, 9, 0, tzinfo=UTC))
        assert team.tick() == []  # nothing more about ended milestones


def test_buttons_and_modals_cannot_reach_another_workspaces_milestones(
    team: Team, http_url: str, fake_slack: FakeSlack
) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Eval harness target in 2 weeks")
        move(clock, datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
        [reminder] = team.tick()
        intruder = SlackUser(http_url, fake_slack, team_id="T0INTRUDER")
        intruder.click(button(reminder, "Achieved"))
        assert "not in this workspace" in intruder.responses()[0]["text"]
        modal = team.open_modal(button(reminder, "Move target"))
        forged = intruder.post(
            intruder.requests.view_submission(modal, new_target("2027-06-01"), user_id=ALICE)
        )
        assert "not in this workspace" in forged.json["errors"][DATE_BLOCK]
        listed = team.say("list").text
        assert "Eval harness" in listed and "achieved" not in listed and "Jun" not in listed


def test_bad_input_explains_with_an_example_and_changes_nothing(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        answer = team.say("add Eval harness target someday")
        assert "`2027-03-01`" in answer.text and "Nothing was changed" in answer.text
        answer = team.say("add Eval harness target 2026-12-01")
        assert "not in the future" in answer.text
        assert "confidence" in team.say("add Eval target Q2 confidence lots").text
        assert "no milestones yet" in team.say("achieved 4").text
        assert "No milestones yet" in team.say("list").text
        team.say("add Eval harness target Q2")
        assert "There is no milestone #4" in team.say("achieved 4").text
        assert "already at 50%" in team.say("edit 1 confidence 50%").text
        assert (
            "`/milestone add &lt;title&gt; target &lt;date&gt; [confidence &lt;p&gt;%]`"
            in team.say("help").text
        )


def test_commands_edit_history_with_a_confidence_sparkline(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Distillation beats baseline target Q2 confidence 30%")
        move(clock, datetime(2027, 1, 11, 16, 0, tzinfo=UTC))
        team.say("edit 1 confidence 60%", user=BOB)
        team.say("edit 1 target end of july confidence 90% because more GPUs arrived")
        team.say("edit 1 title Distilled model beats baseline")
        history = team.say("show 1", user=BOB).text
        assert "#1 Distilled model beats baseline" in history
        assert "`▃▅▇` 30% → 60% → 90%" in history
        assert "Mon 11 Jan 2027 11:00 · <@U0BOB> changed the confidence from 30% to 60%" in history
        assert "moved the target from Wed 30 Jun 2027 to Sat 31 Jul 2027 — more GPUs" in history
        assert "renamed it (it was “Distillation beats baseline”)" in history
        assert "Times in America/New_York" in history
        other = team.say("list", channel=OTHER_CHANNEL).text
        assert "No milestones yet" in other  # milestones belong to their conversation


def test_cadence_and_checkins_ask_for_confidence_between_revisits(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Eval harness target 2027-12-01 confidence 50%")
        assert "every 4 weeks" in team.say("cadence 4").text
        assert "Every 2 weeks" in team.say("checkins 2").text
        move(clock, datetime(2027, 1, 18, 9, 0, tzinfo=UTC))  # 10:00 Berlin, two weeks on
        [checkin] = team.tick()
        assert "how likely" in message_text(checkin).lower()
        modal = team.open_modal(button(checkin, "Update confidence"))
        assert modal["title"]["text"] == "Confidence check-in"
        team.submit(modal, confidence(65))
        [announced] = team.fake.wait_for("chat.postMessage", 2)[1:]
        assert "checked in on #1" in announced["text"] and "65%" in announced["text"]
        move(clock, datetime(2027, 2, 1, 9, 0, tzinfo=UTC))  # 4 weeks: a revisit and a check-in
        posted = team.tick()
        assert sorted(message_text(p).splitlines()[0][:20] for p in posted) == sorted(
            ["Milestone check-in: ", "Time to revisit mile"]
        )
        assert "off" in team.say("checkins off").text
        move(clock, datetime(2027, 2, 15, 9, 0, tzinfo=UTC))
        assert all("check-in" not in message_text(p) for p in team.tick())


def test_home_tab_shows_the_vision_and_milestones(team: Team) -> None:
    with at("2027-01-04 16:00:00"):
        team.say("vision Models that explain themselves")
        team.say("add Eval harness target in 10 weeks confidence 70%")
        event = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
        team.slack.post(team.slack.requests.event(event))
        [published] = team.fake.wait_for("views.publish", 1)
        view = published["view"]
        shown = message_text(json.loads(view) if isinstance(view, str) else view)
        assert "Milestones" in shown and "Models that explain themselves" in shown
        assert "Eval harness" in shown and "70%" in shown


def test_titles_and_reasons_never_ping_the_channel(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("vision Be first &lt;!channel&gt; <!here>")
        team.say("add Beat &lt;!here&gt; baseline <!channel> target in 2 weeks")
        move(clock, datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
        [reminder] = team.tick()
        assert "Beat &lt;!here&gt; baseline @channel" in message_text(reminder)
        team.say("show 1")
        event = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
        team.slack.post(team.slack.requests.event(event))
        team.fake.wait_for("views.publish", 1)
    shown = team.everything_shown()
    assert "<!here>" not in shown and "<!channel>" not in shown


def test_a_button_clicked_outside_its_board_s_channel_changes_nothing(team: Team) -> None:
    with at("2027-01-04 16:00:00") as clock:
        team.say("add Eval harness target in 2 weeks")
        move(clock, datetime(2027, 1, 18, 9, 0, tzinfo=UTC))
        [reminder] = team.tick()
        assert team.slack.click(button(reminder, "Achieved"), channel=OTHER_CHANNEL).status == 200
        assert "another channel's board" in team.slack.responses()[0]["text"]
        assert "achieved" not in team.say("list").text
