"""`/pain` end to end: signed requests to the running app, answers and calls to the fake Slack."""

from datetime import UTC, datetime
from typing import Any

import pytest
from freezegun import freeze_time

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, SlackUser, buttons, message_text

DAN, ERIN = "U0DAN", "U0ERIN"


def pain(slack: SlackUser, text: str, user: str = ALICE, channel: str = CHANNEL) -> Any:
    """Type `/pain <text>` and return the answer."""
    return slack.command(text, user=user, channel=channel, command="/pain")


def dms(fake_slack: FakeSlack) -> dict[str, list[str]]:
    """Return the text of every message posted to a person, by person."""
    found: dict[str, list[str]] = {}
    for call in fake_slack.calls_to("chat.postMessage"):
        if str(call["channel"]).startswith("U"):
            found.setdefault(call["channel"], []).append(message_text(call))
    return found


@pytest.mark.both_transports
def test_logging_a_pain_point_answers_only_the_caller_with_its_number(slack: SlackUser) -> None:
    answer = pain(slack, "GPU queue takes forever")
    assert answer.status == 200
    assert answer.json.get("response_type") != "in_channel"
    assert "Logged pain point *#1*: “GPU queue takes forever”" in answer.text
    assert buttons(answer.json) == []  # nothing similar yet
    assert "#2" in pain(slack, "The wiki about the ranking model is out of date", user=BOB).text


@pytest.mark.both_transports
def test_a_reworded_complaint_finds_the_first_and_same_problem_counts_the_person_there(
    slack: SlackUser,
) -> None:
    pain(slack, "GPU queue takes forever")
    pain(slack, "Deploying a model to production takes a week of manual steps", user=CAROL)
    answer = pain(slack, "waiting hours for a GPU again", user=BOB)
    assert "Looks like the same complaint" in answer.text
    assert "#1* “GPU queue takes forever”" in answer.text
    assert "Deploying a model" not in answer.text
    same = [b for b in buttons(answer.json) if b["action_id"] == "pain_same"]
    assert [b["text"]["text"] for b in same] == ["Same problem (+1)"]
    assert [b["text"]["text"] for b in buttons(answer.json)][-1] == "Keep separate"

    clicked = slack.click(same[0], user=BOB)
    assert clicked.status == 200
    [update] = slack.responses()
    assert update["replace_original"] is True
    assert "Counted as the same problem as #1" in message_text(update)
    shown = pain(slack, "show 1", user=CAROL).text
    assert f"Hit by 2: <@{ALICE}>, <@{BOB}>" in shown
    assert "2 people" in shown


def test_only_the_reporter_or_a_lead_may_press_same_problem(slack: SlackUser) -> None:
    pain(slack, f"leads add <@{ERIN}|erin>")
    pain(slack, "GPU queue takes forever")
    answer = pain(slack, "waiting hours for a GPU", user=BOB)
    same = next(b for b in buttons(answer.json) if b["action_id"] == "pain_same")
    slack.click(same, user=CAROL)
    [refusal] = slack.responses()
    assert refusal["replace_original"] is False
    assert "Only the person who logged it, or a lead" in message_text(refusal)
    assert "Hit by 1:" in pain(slack, "show 1").text


def test_keep_separate_takes_an_auto_grouped_complaint_out_of_the_theme(slack: SlackUser) -> None:
    pain(slack, "GPU queue takes forever")
    answer = pain(slack, "the GPU queue takes forever again", user=BOB)
    assert "It joins a theme" in answer.text
    assert "2 people" in pain(slack, "show 1").text
    keep = next(b for b in buttons(answer.json) if b["action_id"] == "pain_separate")
    slack.click(keep, user=BOB)
    assert "Kept #2 separate" in message_text(slack.responses()[0])
    assert "1 person" in pain(slack, "show 1").text


def test_bad_input_gets_a_clear_message_and_changes_nothing(slack: SlackUser) -> None:
    assert "Say what hurts" in pain(slack, "log   ").text
    huge = pain(slack, "slow " * 400)
    assert "Keep a pain point under 1,000 characters (this one has 1,999)" in huge.text
    assert "Nothing was changed" in huge.text
    assert "There is no pain point 7: none has been logged yet." in pain(slack, "+1 7").text
    pain(slack, "GPU queue takes forever")
    assert "numbers go from 1 to 1" in pain(slack, "show 12").text
    assert "Give a pain point's number" in pain(slack, "metoo twelve").text
    assert "is not a status" in pain(slack, "list sleepy").text
    assert "No pain points" not in pain(slack, "list").text
    assert "#2" not in pain(slack, "list").text


def test_user_text_cannot_ping_the_channel_or_break_the_layout(slack: SlackUser) -> None:
    answer = pain(slack, "<!channel> the <b>build</b> & deploy is *slow*")
    assert "<!channel>" not in answer.text
    assert "@channel the &lt;b&gt;build&lt;/b&gt; &amp; deploy" in answer.text


def test_me_too_counts_each_person_once(slack: SlackUser) -> None:
    pain(slack, "No access to the clickstream table")
    assert "Counted you on #1" in pain(slack, "+1 1", user=BOB).text
    assert "already counted" in pain(slack, "metoo 1", user=BOB).text
    assert "already counted" in pain(slack, "+1 1").text  # the reporter is counted already
    assert f"Hit by 2: <@{ALICE}>, <@{BOB}>" in pain(slack, "show 1").text


def test_list_shows_the_newest_open_pain_points_and_how_many_more(slack: SlackUser) -> None:
    for number in range(23):
        pain(slack, f"complaint number {number} about thing{number}")
    listing = pain(slack, "list").text
    assert "*#23* complaint number 22" in listing
    assert "*#4* complaint number 3" in listing and "*#3* " not in listing
    assert "…and 3 more" in listing


def test_top_ranks_themes_by_distinct_people_with_trend_and_merge_never_counts_twice(
    slack: SlackUser,
) -> None:
    with freeze_time(datetime(2026, 9, 1, 9, 0, tzinfo=UTC), tick=True):
        pain(slack, "Labeling new data takes a month through the vendor", user=DAN)
    with freeze_time(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        pain(slack, "No access to the clickstream table")
        pain(slack, "+1 2", user=BOB)
        pain(slack, "still no read permission on the clickstream table", user=BOB)
        pain(slack, "The docker base image is outdated", user=CAROL)
    with freeze_time(datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tick=True):
        top = pain(slack, "top").text
        assert "Top pain themes, last 8 weeks" in top
        first, second = top.index("1. *No access to the clickstream table*"), top.index("2. ")
        assert first < second
        assert "2 people · :arrow_upper_right: rising (0 before)" in top
        assert "first seen Mon 2 Nov 2026, last seen Mon 2 Nov 2026" in top
        assert "> #3 still no read permission on the clickstream table" in top
        assert "Labeling" not in top  # reported before the window

        merged = pain(slack, "merge 4 2").text
        assert "Moved 1 pain point into the theme" in merged
        pain(slack, "+1 4", user=BOB)
        top = pain(slack, "top").text
        assert "3 people" in top  # Alice, Bob (three times) and Carol
        assert pain(slack, "top 12").text.count("1 person") == 1  # Dan's labeling
        assert "Weeks go from 1 to 52" in pain(slack, "top 60").text


def test_themes_are_named_split_and_merged_by_leads_only(slack: SlackUser) -> None:
    pain(slack, "No access to the clickstream table")
    pain(slack, "still no read permission on the clickstream table", user=BOB)
    pain(slack, f"leads add <@{CAROL}|carol>")
    refused = pain(slack, "theme 1 Warehouse access")
    assert "Only the workspace's leads may do that" in refused.text
    assert f"<@{CAROL}>" in refused.text
    assert "Warehouse access" not in pain(slack, "show 1").text
    assert (
        "now called “Warehouse access”" in pain(slack, "theme 1 Warehouse access", user=CAROL).text
    )
    assert "Theme: “Warehouse access”" in pain(slack, "show 2").text
    assert "#2 is now a theme of its own" in pain(slack, "split 2", user=CAROL).text
    assert "already a theme of its own" in pain(slack, "split 2", user=CAROL).text
    assert "Theme: “still no read permission" in pain(slack, "show 2").text
    assert "Moved 1 pain point" in pain(slack, "merge 2 into 1", user=CAROL).text
    assert "already in the same theme" in pain(slack, "merge 2 1", user=CAROL).text


def test_leads_are_named_by_anyone_first_then_only_by_leads(slack: SlackUser) -> None:
    assert "no leads yet" in pain(slack, "leads").text
    assert f"<@{BOB}> is now a lead" in pain(slack, f"leads add <@{BOB}|bob>").text
    refused = pain(slack, f"leads add <@{CAROL}|carol>")
    assert "Only the workspace's leads may do that" in refused.text
    assert f"Leads: <@{BOB}>." in pain(slack, "leads").text
    added = pain(slack, f"leads add <@{CAROL}|carol> <@{ALICE}|alice>", user=BOB).text
    assert f"<@{CAROL}>, <@{ALICE}> are now leads" in added
    removed = pain(slack, f"leads remove <@{BOB}|bob>", user=CAROL).text
    assert f"<@{BOB}> is no longer a lead." in removed
    assert "Mention the people" in pain(slack, "leads add bob").text


def test_the_leads_get_one_dm_when_a_theme_reaches_the_threshold(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    pain(slack, f"leads add <@{ERIN}|erin> <@{DAN}|dan>")
    pain(slack, "GPU queue takes forever")
    pain(slack, "+1 1", user=BOB)
    pain(slack, "+1 1", user=BOB)  # a repeat is still one person
    focusbot.scheduler.tick()
    assert dms(fake_slack) == {}
    pain(slack, "+1 1", user=CAROL)
    focusbot.scheduler.tick()
    pain(slack, "+1 1", user=DAN)
    focusbot.scheduler.tick()
    sent = dms(fake_slack)
    assert set(sent) == {ERIN, DAN}
    [dm] = sent[ERIN]
    assert "3 people hit “GPU queue takes forever”" in dm
    assert f"<@{ALICE}>, <@{BOB}>, <@{CAROL}>" in dm


def test_the_threshold_is_read_and_set_by_leads_and_counts_within_its_weeks(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    assert "when 3 people hit it within 4 weeks" in pain(slack, "threshold").text
    pain(slack, f"leads add <@{ERIN}|erin>")
    assert "Only the workspace's leads" in pain(slack, "threshold 2 1", user=BOB).text
    assert "when 2 people hit it within a week" in pain(slack, "threshold 2 1", user=ERIN).text
    assert "People go from 1 to 1000" in pain(slack, "threshold 0 1", user=ERIN).text
    with freeze_time(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True):
        pain(slack, "GPU queue takes forever")
    with freeze_time(datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tick=True):
        pain(slack, "+1 1", user=BOB)  # Alice's report is 8 days old: not within a week
        focusbot.scheduler.tick()
        assert dms(fake_slack) == {}
        pain(slack, "+1 1", user=CAROL)
        focusbot.scheduler.tick()
        assert list(dms(fake_slack)) == [ERIN]


@pytest.mark.both_transports
def test_review_opens_a_modal_for_leads_and_a_status_change_dms_every_reporter(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    pain(slack, "GPU queue takes forever")
    pain(slack, "+1 1", user=BOB)
    pain(slack, "Our CI takes 45 minutes", user=CAROL)
    pain(slack, f"leads add <@{ERIN}|erin>")

    refused = pain(slack, "review", user=BOB)
    assert "Only the workspace's leads may do that" in refused.text
    assert fake_slack.calls_to("views.open") == []

    opening = pain(slack, "review 1", user=ERIN)
    assert (opening.status, opening.body) == (200, "")
    [opened] = fake_slack.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "pain_review_view"
    text = message_text(view)
    assert "GPU queue takes forever" in text and "Our CI takes 45 minutes" in text
    theme_select = view["blocks"][-3]["element"]
    assert theme_select["initial_option"]["text"]["text"].endswith("GPU queue takes forever")
    theme_id = theme_select["initial_option"]["value"]
    values = {
        "pain_review_theme": {"theme": {"selected_option": {"value": theme_id}}},
        "pain_review_status": {"status": {"selected_option": {"value": "planned"}}},
        "pain_review_note": {"note": {"value": "New GPU pool lands in Q1 <!here>"}},
    }

    forged = slack.post(slack.requests.view_submission(view, values, user_id=BOB))
    assert forged.json["response_action"] == "errors"
    assert "Only the workspace's leads" in forged.json["errors"]["pain_review_theme"]

    values["pain_review_note"] = {"note": {"value": "New GPU pool lands in Q1 <!here>"}}
    done = slack.post(slack.requests.view_submission(view, values, user_id=ERIN))
    assert done.status == 200 and done.body == ""
    focusbot.scheduler.tick()
    sent = dms(fake_slack)
    assert set(sent) == {ALICE, BOB}
    assert "now *planned*: “GPU queue takes forever”" in sent[ALICE][0]
    assert "Note: New GPU pool lands in Q1 @here" in sent[ALICE][0]
    assert "planned" in pain(slack, "show 1").text
    assert "#1" not in pain(slack, "list acknowledged").text
    assert "GPU queue" in pain(slack, "list planned").text


def test_the_review_button_is_refused_to_non_leads(slack: SlackUser, fake_slack: FakeSlack) -> None:
    pain(slack, "GPU queue takes forever")
    top = pain(slack, "top")
    review = next(b for b in buttons(top.json) if b["action_id"] == "pain_review")
    pain(slack, f"leads add <@{ERIN}|erin>")
    slack.click(review, user=BOB)
    [refusal] = slack.responses()
    assert "Only the workspace's leads may do that" in message_text(refusal)
    assert fake_slack.calls_to("views.open") == []
    assert not any(
        b["action_id"] == "pain_review" for b in buttons(pain(slack, "top", user=BOB).json)
    )
    slack.click(review, user=ERIN)
    fake_slack.wait_for("views.open")


def test_the_home_tab_shows_top_themes_and_a_review_button_for_leads(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    pain(slack, "GPU queue takes forever")
    pain(slack, f"leads add <@{ERIN}|erin>")
    for user in (ERIN, BOB):
        event = {"type": "app_home_opened", "user": user, "tab": "home"}
        assert slack.post(slack.requests.event(event, event_id=f"Ev{user}")).status == 200
    published = fake_slack.wait_for("views.publish", 2)
    by_user = {call["user_id"]: call["view"] for call in published}
    assert "GPU queue takes forever" in message_text(by_user[BOB])
    assert any(b["action_id"] == "pain_review" for b in buttons(by_user[ERIN]))
    assert not any(b["action_id"] == "pain_review" for b in buttons(by_user[BOB]))


def test_help_lists_every_command(slack: SlackUser) -> None:
    text = pain(slack, "help").text
    for word in (
        "+1",
        "list",
        "show",
        "top",
        "threshold",
        "merge",
        "split",
        "theme",
        "review",
        "leads",
        "export",
        "reaction",
        "digest",
    ):
        assert f"/pain {word}" in text
    assert "/pain help" in pain(slack, "").text


def test_pain_points_logged_at_the_same_moment_get_distinct_numbers(slack: SlackUser) -> None:
    from concurrent.futures import ThreadPoolExecutor

    people = [f"U0P{n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda p: pain(slack, f"complaint from {p}", user=p), people))
    assert all(answer.status == 200 for answer in answers)
    numbers = sorted(int(a.text.split("*#")[1].split("*")[0]) for a in answers)
    assert numbers == list(range(1, 9))


def test_nothing_typed_can_ping_the_channel_even_in_an_error(slack: SlackUser) -> None:
    pain(slack, "GPU queue takes forever")
    for text in (
        "list <!here>",
        "show <!channel>",
        "digest schedule <!here> 10:00",
        "digest schedule mon 10:00 <!everyone>",
        "reaction <!here>",
        "theme 1 <!channel|channel> <!here>",
        "<!subteam^S123|@ml-team> GPU queue <!here>",
        "typed literally: &lt;!channel&gt; &amp; &lt;b&gt;",
        "show 2",
        "list",
    ):
        answer = pain(slack, text)
        assert answer.status == 200
        assert "<!" not in answer.body, text
