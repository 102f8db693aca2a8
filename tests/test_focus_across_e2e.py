"""Focus across teams end to end: who sees which team's list, following, the weekly post."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack, Scripted
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, SlackUser, buttons, message_text

RESEARCH, SECRET, LEADS = "C0RESEARCH", "C0SECRET", "C0LEADS"
# Tuesday 1 December 2026, 10:00 in Berlin.
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def add(slack: SlackUser, text: str, *, channel: str, user: str = ALICE) -> None:
    answer = slack.command(f"add {text}", user=user, channel=channel)
    assert "Added" in answer.text, answer.text


def open_home(slack: SlackUser, fake_slack: FakeSlack, user: str = ALICE) -> str:
    published = len(fake_slack.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user[1:]}
    slack.post(slack.requests.event(event, event_id=f"Ev{published}{user}"))
    return message_text(fake_slack.wait_for("views.publish", published + 1)[-1]["view"])


def test_all_teams_shows_every_list_newest_change_first_with_owners_age_and_stalls(
    slack: SlackUser,
) -> None:
    with freeze_time(TUESDAY - timedelta(weeks=7), tick=True):
        add(slack, "Rewrite the feature pipeline", channel=CHANNEL)
    with freeze_time(TUESDAY - timedelta(days=3), tick=True):
        add(slack, "Retrain the ranker <@U0CAROL|carol>", channel=RESEARCH, user=BOB)
    with freeze_time(TUESDAY + timedelta(minutes=1), tick=True):
        answer = slack.command("all", user=CAROL, channel="D0CAROL")
        also = slack.command("teams", user=CAROL, channel="D0CAROL")
    text = answer.text
    assert answer.json.get("response_type", "ephemeral") == "ephemeral"
    assert f"*<#{RESEARCH}>* · 1 of 3 · changed 3 days ago" in text
    assert f"1. Retrain the ranker — <@{CAROL}> · 3 days" in text
    assert f"1. Rewrite the feature pipeline — <@{ALICE}> · 49 days · :hourglass: *stalled*" in text
    assert text.index(RESEARCH) < text.index(f"<#{CHANNEL}>")  # newest change first
    assert buttons(answer.json) == []  # other teams' lists are read-only here
    assert also.text == text


def test_a_private_channels_list_shows_only_to_its_members(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    fake_slack.make_private(SECRET, [ALICE, "UFOCUSBOT"])
    add(slack, "Negotiate the data licence", channel=SECRET)
    add(slack, "Ship the eval harness", channel=CHANNEL)

    assert "Negotiate the data licence" in slack.command("all", user=ALICE).text
    outside = slack.command("all", user=BOB)
    assert "Ship the eval harness" in outside.text
    assert "Negotiate the data licence" not in outside.text and SECRET not in outside.text
    assert "hidden" not in outside.text  # a list one may not see is not even counted

    for command in (f"team <#{SECRET}|secret>", f"follow <#{SECRET}>"):
        refused = slack.command(command, user=BOB)
        assert "That channel has no focus list you can see." in refused.text
        assert "Negotiate" not in refused.text
    assert (
        "That channel has no focus list you can see."
        in slack.command("team <#C0NOLIST>", user=BOB).text
    )
    assert "Negotiate the data licence" not in open_home(slack, fake_slack, user=BOB)


def test_a_personal_list_shows_only_to_the_person_whose_dm_it_is(slack: SlackUser) -> None:
    add(slack, "Read the RLHF paper", channel="D0ALICE")
    mine = slack.command("all", user=ALICE).text
    assert "A personal list" in mine and "Read the RLHF paper" in mine
    assert "Read the RLHF paper" not in slack.command("all", user=BOB).text


def test_a_guest_sees_only_the_lists_of_channels_they_are_in(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    fake_slack.guests.add("U0GUEST")
    fake_slack.public_members[RESEARCH] = {BOB, "U0GUEST"}  # the guest's only channel
    add(slack, "Ship the eval harness", channel=CHANNEL)
    add(slack, "Retrain the ranker", channel=RESEARCH, user=BOB)
    seen = slack.command("all", user="U0GUEST", channel=RESEARCH).text
    assert "Retrain the ranker" in seen and "Ship the eval harness" not in seen
    refused = slack.command(f"team <#{CHANNEL}>", user="U0GUEST", channel=RESEARCH).text
    assert "no focus list you can see" in refused


def test_another_workspace_never_sees_these_lists(
    slack: SlackUser, http_url: str, fake_slack: FakeSlack
) -> None:
    add(slack, "Ship the eval harness", channel=CHANNEL)
    elsewhere = SlackUser(http_url, fake_slack, team_id="T0ELSEWHERE")
    add(elsewhere, "Their own thing", channel="C0THEIRS", user="U0EVE")
    theirs = elsewhere.command("all", user="U0EVE").text
    assert "Their own thing" in theirs and "Ship the eval harness" not in theirs
    assert "Their own thing" not in slack.command("all").text
    refused = elsewhere.command(f"team <#{CHANNEL}>", user="U0EVE").text
    assert "no focus list you can see" in refused and "Ship" not in refused


def test_when_slack_cannot_tell_the_list_stays_hidden_and_the_answer_says_so(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    add(slack, "Ship the eval harness", channel=CHANNEL)
    fake_slack.script("conversations.info", Scripted(200, {"ok": False, "error": "missing_scope"}))
    answer = slack.command("all", user=BOB).text
    assert "Ship the eval harness" not in answer
    assert "1 more list is hidden: Slack could not tell me whether you may see them" in answer
    later = slack.command("all", user=BOB).text  # Slack answers again: shown
    assert "Ship the eval harness" in later


def test_slacks_answers_are_remembered_for_a_few_minutes_only(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    fake_slack.make_private(SECRET, [ALICE, BOB])
    with freeze_time(TUESDAY, tick=True):
        add(slack, "Negotiate the data licence", channel=SECRET)
        assert "Negotiate" in slack.command("all", user=BOB).text
        asked = len(fake_slack.calls_to("conversations.members"))
        fake_slack.make_private(SECRET, [ALICE])  # Bob leaves the channel
        assert "Negotiate" in slack.command("all", user=BOB).text
        assert len(fake_slack.calls_to("conversations.members")) == asked
    with freeze_time(TUESDAY + timedelta(minutes=3), tick=True):
        assert "Negotiate" not in slack.command("all", user=BOB).text


def test_all_teams_stays_within_block_kit_limits_and_asks_slack_little(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    channels = [f"C0TEAM{number:02d}" for number in range(23)]
    fake_slack.public_channels.update(channels)
    for number, channel in enumerate(channels):
        add(slack, f"Item of team {number}", channel=channel)
    answer = slack.command("all", user=BOB)
    assert len(answer.json["blocks"]) <= 50
    assert "…and 3 more teams." in answer.text
    assert "Item of team 22" in answer.text and "Item of team 0 " not in answer.text
    # One page of the channel list tells every channel's privacy, and is remembered.
    assert "…and 3 more teams." in slack.command("all", user=CAROL).text
    assert len(fake_slack.calls_to("conversations.list")) == 1
    assert fake_slack.calls_to("conversations.info") == []


def test_one_teams_list_is_read_only(slack: SlackUser) -> None:
    add(slack, "Retrain the ranker", channel=RESEARCH, user=BOB)
    answer = slack.command(f"team <#{RESEARCH}|research>", user=ALICE)
    assert "Retrain the ranker" in answer.text and "Read-only" in answer.text
    assert buttons(answer.json) == []
    unreadable = slack.command("team research", user=ALICE).text
    assert "Name one channel, for example `/focus team #ml-research`." in unreadable


def test_followed_teams_come_first_on_the_home_tab(slack: SlackUser, fake_slack: FakeSlack) -> None:
    with freeze_time(TUESDAY - timedelta(days=2), tick=True):
        add(slack, "Retrain the ranker", channel=RESEARCH, user=BOB)
    with freeze_time(TUESDAY, tick=True):
        add(slack, "Label the new eval set", channel="C0LABELS", user=BOB)
        add(slack, "My own thing", channel=CHANNEL)
        before = open_home(slack, fake_slack).partition("Across teams")[2]
        assert before.index("Label the new eval set") < before.index("Retrain the ranker")
        assert "My own thing" not in before  # already above, in the lists Alice takes part in

        followed = slack.command(f"follow <#{RESEARCH}|research>")
        assert f"You now follow <#{RESEARCH}>'s focus list" in followed.text
        assert "You already follow" in slack.command(f"follow <#{RESEARCH}>").text
        after = open_home(slack, fake_slack).partition("Across teams")[2]
        assert after.index("Retrain the ranker") < after.index("Label the new eval set")
        assert ":pushpin: following" in after

        assert "You no longer follow" in slack.command(f"unfollow <#{RESEARCH}>").text
        assert "You don't follow" in slack.command(f"unfollow <#{RESEARCH}>").text
        again = open_home(slack, fake_slack).partition("Across teams")[2]
        assert again.index("Label the new eval set") < again.index("Retrain the ranker")


def weekly_posts(fake_slack: FakeSlack) -> list[dict]:
    return [post for post in fake_slack.calls_to("chat.postMessage") if post["channel"] == LEADS]


def test_the_weekly_post_shows_every_public_teams_week_once_and_out_of_maker_time(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    fake_slack.make_private(SECRET, [ALICE])
    with freeze_time(TUESDAY - timedelta(weeks=8), tick=True):
        add(slack, "Rewrite the feature pipeline", channel=CHANNEL)
        for list_channel in (CHANNEL, RESEARCH, SECRET):
            slack.command("checkin off", channel=list_channel)
    with freeze_time(TUESDAY - timedelta(days=3), tick=True):
        add(slack, "Retrain the ranker", channel=RESEARCH, user=BOB)
        add(slack, "Try the new tokenizer", channel=RESEARCH, user=BOB)
        slack.command("done 1", user=BOB, channel=RESEARCH)
        add(slack, "Negotiate the data licence", channel=SECRET)
        slack.command("set timezone Europe/Berlin", channel=LEADS, command="/maker")
        set_up = slack.command("digest here tue 10:00 Europe/Berlin", channel=LEADS)
    assert "Every team's focus is posted here Tuesdays at 10:00 (Europe/Berlin)" in set_up.text
    with freeze_time(TUESDAY - timedelta(days=3), tick=True):
        again = slack.command("digest here tue 10:00", channel=LEADS)  # the same, said twice
        assert "Tuesdays at 10:00 (Europe/Berlin)" in again.text
        assert "Tuesdays at 10:00" in slack.command("digest", channel=LEADS).text

    with freeze_time(TUESDAY):  # 10:00 in Berlin is maker time in #leads: the post waits
        report = focusbot.scheduler.tick()
    assert report.deferred == 1 and weekly_posts(fake_slack) == []
    with freeze_time(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):  # 13:00, a meeting window
        focusbot.scheduler.tick()
        focusbot.scheduler.tick()
    [post] = weekly_posts(fake_slack)
    text = message_text(post)
    assert "Focus across teams this week" in text
    assert "_Finished this week:_ Retrain the ranker" in text
    assert "_Added this week:_ Retrain the ranker; Try the new tokenizer" in text
    assert "Rewrite the feature pipeline" in text and ":hourglass: *stalled*" in text
    assert "2 teams · 1 stalled item · newest change first" in text
    assert "Negotiate the data licence" not in text  # a private channel's list is never posted

    with freeze_time(datetime(2026, 12, 8, 12, 0, tzinfo=UTC)):
        focusbot.scheduler.tick()
    assert len(weekly_posts(fake_slack)) == 2  # the next week's post was scheduled once
    with freeze_time(datetime(2026, 12, 8, 12, 30, tzinfo=UTC), tick=True):
        off = slack.command("digest off", channel=LEADS)
    assert "This channel gets no weekly post" in off.text
    with freeze_time(datetime(2026, 12, 22, 12, 0, tzinfo=UTC)):
        focusbot.scheduler.tick()
    assert len(weekly_posts(fake_slack)) == 2


def test_the_weekly_post_commands_explain_what_they_need(slack: SlackUser) -> None:
    assert "Say `here`, a day and a 24-hour time" in slack.command("digest fri 16:00").text
    assert "is not a weekday" in slack.command("digest here someday 16:00").text
    assert "is not a timezone" in slack.command("digest here fri 16:00 Mars/Olympus").text
    assert "`/focus all` takes nothing after it." in slack.command("all of them").text
