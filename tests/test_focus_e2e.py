"""`/focus` end to end: signed HTTP requests, a fake Slack Web API recording what focusbot sent."""

import json
from datetime import timedelta

import pytest
from slack_bolt.request import BoltRequest
from sqlmodel import select

from bot.app.factory import Focusbot, create_focusbot
from bot.console.fakeslack import FakeSlack
from storage.focus import FocusEvent, FocusList
from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    SlackUser,
    buttons,
    message_text,
    settings_for,
)


def add(slack: SlackUser, *texts: str, user: str = ALICE, channel: str = CHANNEL) -> None:
    for text in texts:
        answer = slack.command(f"add {text}", user=user, channel=channel)
        assert answer.status == 200 and "Added" in answer.text, answer.text


def listed(slack: SlackUser, channel: str = CHANNEL) -> str:
    return slack.command("", channel=channel).text


@pytest.mark.both_transports
def test_adding_shows_the_numbered_list_to_the_caller_only(slack: SlackUser) -> None:
    answer = slack.command("add Ship the eval harness <@U0BOB|bob>")
    assert answer.status == 200
    assert answer.json.get("response_type", "ephemeral") == "ephemeral"
    assert "Added “Ship the eval harness”" in answer.text
    assert "*1.* Ship the eval harness" in answer.text
    assert f"<@{BOB}> · in focus today" in answer.text
    assert "1 of 3" in answer.text


def test_the_list_says_how_long_items_have_been_in_focus(slack: SlackUser, focusbot) -> None:
    add(slack, "Label the new eval set")
    clock = focusbot.services.clock
    focusbot.services.clock = lambda: clock() + __import__("datetime").timedelta(days=12, hours=1)
    assert "in focus 12 days" in listed(slack)


def test_a_full_list_refuses_and_shows_the_list(slack: SlackUser) -> None:
    add(slack, "one", "two", "three")
    answer = slack.command("add four")
    assert "The list is full (3 of 3): finish or drop something first" in answer.text
    assert "*3.* three" in answer.text
    assert "four" not in listed(slack)


def test_done_drop_edit_move_owner_change_the_list(slack: SlackUser) -> None:
    add(slack, "alpha", "beta", "gamma")
    assert "Finished “alpha”" in slack.command("done 1").text
    assert "Dropped “beta”" in slack.command("drop 1 blocked on data access").text
    add(slack, "delta")
    assert "Item 1 now reads “gamma v2”" in slack.command("edit 1 gamma v2").text
    assert "Moved “delta” to position 1" in slack.command("move 2 1").text
    answer = slack.command("owner 1 <@U0CAROL|carol>")
    assert f"“delta” is now owned by <@{CAROL}>" in answer.text
    text = listed(slack)
    assert text.index("*1.* delta") < text.index("*2.* gamma v2")


def test_history_tells_who_added_finished_and_dropped_in_their_timezone(
    slack: SlackUser, focusbot
) -> None:
    add(slack, "alpha", "beta")
    slack.command("done 1", user=BOB)
    slack.command("drop 1 superseded", user=CAROL)
    text = slack.command("history 2", user=BOB).text
    assert f"<@{ALICE}> added “alpha”" in text
    assert f"<@{BOB}> finished “alpha”" in text
    assert f"<@{CAROL}> dropped “beta” — superseded" in text
    assert "Times in America/New_York" in text
    assert text.index("dropped “beta”") < text.index("added “alpha”")  # newest first
    assert "Nothing was added" in slack.command("history 1", channel="C0EMPTY").text


def test_limit_shows_and_sets_the_cap_and_refuses_below_the_size(slack: SlackUser) -> None:
    assert "at most 3 items" in slack.command("limit").text
    assert "at most 5 items" in slack.command("limit 5").text
    add(slack, "a", "b", "c", "d")
    answer = slack.command("limit 2")
    assert "finish or drop 2 first. The cap stays at 5" in answer.text
    assert "at most 5 items" in slack.command("limit").text


@pytest.mark.parametrize(
    "text",
    [
        "frobnicate",
        "done",
        "done 7",
        "drop x",
        "limit 9",
        "move 1 9",
        "history 99",
        "checkin mon 9",
        "owner 1 nobody",
        "add",
        "edit 1",
        "add " + "long " * 100,
    ],
)
def test_bad_input_is_explained_only_to_the_caller_and_changes_nothing(
    slack: SlackUser, fake_slack: FakeSlack, text: str
) -> None:
    add(slack, "keep me")
    before = listed(slack)
    fake_slack.clear()
    answer = slack.command(text)
    assert answer.status == 200
    assert answer.json.get("response_type", "ephemeral") == "ephemeral"
    assert answer.text.strip()
    assert listed(slack) == before
    assert fake_slack.calls_to("chat.postMessage") == []


def test_help_lists_every_subcommand(slack: SlackUser) -> None:
    text = slack.command("help").text
    for word in (
        "add",
        "done",
        "drop",
        "edit",
        "move",
        "owner",
        "limit",
        "share",
        "history",
        "checkin",
    ):
        assert f"`/focus {word}" in text


def test_user_text_cannot_ping_the_channel_or_break_the_layout(slack: SlackUser) -> None:
    answer = slack.command("add <!channel> deploy &lt;b&gt;now&lt;/b&gt; &amp; <!here|here>")
    raw = json.dumps(answer.json)
    assert "<!channel>" not in raw and "<!here" not in raw
    assert "@channel deploy &lt;b&gt;now&lt;/b&gt; &amp; @here" in answer.text


def test_share_posts_the_list_for_everyone(slack: SlackUser) -> None:
    add(slack, "Ship the eval harness")
    answer = slack.command("share")
    assert answer.status == 200 and answer.body == ""
    [posted] = slack.responses()
    assert posted["response_type"] == "in_channel"
    assert "*1.* Ship the eval harness" in message_text(posted)


@pytest.mark.both_transports
def test_a_button_click_changes_the_list_and_updates_the_message_in_place(slack: SlackUser) -> None:
    add(slack, "alpha", "beta")
    shown = slack.command("").json
    done_beta = [b for b in buttons(shown) if b["action_id"] == "focus_done"][1]
    assert slack.click(done_beta, user=BOB).status == 200
    [update] = slack.responses()
    assert update["replace_original"] is True
    assert f"<@{BOB}> finished “beta”" in message_text(update)
    assert "beta" not in listed(slack)


@pytest.mark.both_transports
def test_a_double_click_finishes_once(slack: SlackUser) -> None:
    add(slack, "alpha", "beta")
    done_alpha = buttons(slack.command("").json)[0]
    slack.click(done_alpha)
    slack.responses()
    slack.click(done_alpha)
    [second] = slack.responses()
    assert "“alpha” is already done" in message_text(second)
    assert "*1.* beta" in listed(slack)
    history = slack.command("history").text
    assert history.count("finished “alpha”") == 1


def test_drop_button_asks_for_confirmation_first(slack: SlackUser) -> None:
    add(slack, "alpha")
    drop = next(b for b in buttons(slack.command("").json) if b["action_id"] == "focus_drop")
    assert drop["confirm"]["confirm"]["text"] == "Drop"


def test_a_forged_button_value_changes_nothing(slack: SlackUser) -> None:
    add(slack, "alpha")
    forged = {**buttons(slack.command("").json)[0], "value": "99999"}
    slack.click(forged)
    [answer] = slack.responses()
    assert "no longer on any list here" in message_text(answer)
    assert "*1.* alpha" in listed(slack)


def test_the_dm_with_the_bot_holds_a_personal_list(slack: SlackUser) -> None:
    add(slack, "team thing")
    add(slack, "my own thing", channel="D0ALICE")
    personal = listed(slack, channel="D0ALICE")
    assert "your personal list" in personal and "my own thing" in personal
    assert "team thing" not in personal


def test_home_tab_shows_the_lists_i_take_part_in_with_buttons(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    add(slack, "alpha")
    add(slack, "elsewhere", channel="C0OTHER", user=BOB)
    slack.post(
        slack.requests.event(
            {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE"}
        )
    )
    [published] = fake_slack.wait_for("views.publish")
    assert published["user_id"] == ALICE
    home = published["view"]
    mine, _, across = message_text(home).partition("Across teams")
    assert "alpha" in mine and "elsewhere" not in mine
    assert "elsewhere" in across  # another team's list, read-only
    labels = [b["text"]["text"] for b in buttons(home)]
    assert labels == ["Done", "Drop", "Add"]


@pytest.mark.both_transports
def test_home_add_button_opens_a_modal_that_adds_the_item(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    add(slack, "alpha")
    slack.post(
        slack.requests.event(
            {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE"}
        )
    )
    home = fake_slack.wait_for("views.publish")[0]["view"]
    add_button = next(b for b in buttons(home) if b["action_id"] == "focus_add")
    slack.click(add_button, in_home=True)
    [opened] = fake_slack.wait_for("views.open")
    modal = opened["view"]
    assert modal["title"]["text"] == "Add to focus"

    empty = slack.post(
        slack.requests.view_submission(
            modal, {"focus_add_text": {"text": {"value": " "}}}, user_id=ALICE
        )
    )
    assert empty.json == {
        "response_action": "errors",
        "errors": {"focus_add_text": "Say what the item is."},
    }

    values = {
        "focus_add_text": {"text": {"type": "plain_text_input", "value": "Write the data card"}},
        "focus_add_owners": {"owners": {"type": "multi_users_select", "selected_users": [BOB]}},
    }
    assert slack.post(slack.requests.view_submission(modal, values, user_id=ALICE)).status == 200
    assert f"*2.* Write the data card\n<@{BOB}>" in listed(slack)
    refreshed = fake_slack.wait_for("views.publish", 2)[-1]["view"]
    assert "Write the data card" in message_text(refreshed)


def test_a_modal_cannot_add_to_another_workspaces_list(
    slack: SlackUser, http_url: str, fake_slack: FakeSlack
) -> None:
    add(slack, "alpha")
    intruder = SlackUser(http_url, fake_slack, team_id="T0INTRUDER")
    modal = {"callback_id": "focus_add_view", "private_metadata": json.dumps({"list_id": 1})}
    values = {"focus_add_text": {"text": {"value": "sneaky"}}}
    answer = intruder.post(intruder.requests.view_submission(modal, values, user_id="U0EVE"))
    assert answer.json["response_action"] == "errors"
    assert "sneaky" not in listed(slack)


def test_a_button_in_the_home_tab_refreshes_the_home_tab(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    add(slack, "alpha", "beta")
    slack.post(
        slack.requests.event(
            {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE"}
        )
    )
    home = fake_slack.wait_for("views.publish")[0]["view"]
    slack.click(buttons(home)[0], in_home=True)
    refreshed = fake_slack.wait_for("views.publish", 2)[-1]["view"]
    text = message_text(refreshed)
    assert "alpha" not in text and "*1.* beta" in text


def test_unsigned_or_stale_requests_are_refused(slack: SlackUser) -> None:
    request = slack.requests.command(
        "/focus", "add sneaky", user_id=ALICE, channel_id=CHANNEL, response_url="x"
    )
    forged = {**request.headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert slack.post(request, extra_headers=forged).status == 401
    stale = slack.requests.sign(
        request.body, request.headers["Content-Type"], timestamp=1_000_000_000
    )
    assert slack.post(stale).status == 401
    assert "sneaky" not in listed(slack)


def test_checkin_settings_can_be_seen_and_changed(slack: SlackUser) -> None:
    assert "Mondays at 09:30" in slack.command("checkin").text
    add(slack, "alpha")
    assert "Mondays at 09:30 (Europe/Berlin)" in slack.command("checkin").text
    assert (
        "Thursdays at 16:00 (Asia/Kolkata)" in slack.command("checkin thu 16:00 Asia/Kolkata").text
    )
    assert "The weekly focus check is off" in slack.command("checkin off").text
    assert "longer than 2 weeks" in slack.command("stall 2").text


def test_long_texts_and_long_histories_stay_within_block_kit_limits(
    slack: SlackUser, focusbot: Focusbot
) -> None:
    slack.command("limit 7")
    for number in range(7):
        add(slack, f"{number} " + "&<>" * 92)
    with focusbot.services.session() as session:
        focus_list = session.exec(select(FocusList)).one()
        start = focusbot.services.now() - timedelta(days=20)
        for minute in range(600):
            session.add(
                FocusEvent(
                    list_id=focus_list.id,
                    kind="added",
                    actor_id=BOB,
                    at=start + timedelta(minutes=minute),
                    item_text="x" * 280,
                )
            )
    for answer in (slack.command(""), slack.command("history")):
        blocks = answer.json["blocks"]
        assert len(blocks) <= 50
        for block in blocks:
            assert len((block.get("text") or {}).get("text", "")) <= 3000
    assert "earlier changes" in slack.command("history").text


def test_a_restart_loses_nothing(
    slack: SlackUser, fake_slack: FakeSlack, database_url: str
) -> None:
    add(slack, "Survive the redeploy")
    restarted = create_focusbot(settings_for(fake_slack, database_url))
    response = restarted.app.dispatch(
        BoltRequest(
            **_bolt_fields(
                slack.requests.command(
                    "/focus",
                    "",
                    user_id=ALICE,
                    channel_id=CHANNEL,
                    response_url=fake_slack.response_url(),
                )
            )
        )
    )
    assert "Survive the redeploy" in message_text(json.loads(response.body))
    restarted.services.engine.dispose()


def _bolt_fields(request) -> dict:
    return {"body": request.body, "headers": dict(request.headers)}


def test_a_forged_click_cannot_change_someone_elses_personal_list(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    add(slack, "my own thing", channel="D0ALICE")
    alices = listed(slack, channel="D0ALICE")
    done = next(
        b for b in buttons(slack.command("", channel="D0ALICE").json) if b["text"]["text"] == "Done"
    )
    assert "my own thing" in alices

    slack.click(done, user=BOB, channel="D0BOB")  # Bob replays Alice's button in his own DM
    [refusal] = slack.responses()
    assert "not yours to change" in message_text(refusal)
    slack.click(done, user=BOB, in_home=True)  # or from his Home tab
    fake_slack.wait_for("views.publish")  # the click is handled after its acknowledgement
    assert "*1.* my own thing" in listed(slack, channel="D0ALICE")

    slack.click(done, user=ALICE, in_home=True)  # Alice may, from her Home tab
    fake_slack.wait_for("views.publish", 2)
    assert "my own thing" not in listed(slack, channel="D0ALICE")


def test_a_forged_modal_cannot_add_to_someone_elses_personal_list(slack: SlackUser) -> None:
    add(slack, "my own thing", channel="D0ALICE")
    modal = {"callback_id": "focus_add_view", "private_metadata": json.dumps({"list_id": 1})}
    values = {"focus_add_text": {"text": {"value": "sneaky"}}}
    answer = slack.post(slack.requests.view_submission(modal, values, user_id=BOB))
    assert answer.json["response_action"] == "errors"
    assert "sneaky" not in listed(slack, channel="D0ALICE")
