"""Any text after `/pain`, `/maker` or `/milestone` gets a clear answer: no 500, no ping."""

import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.fakeslack import FakeSlack
from handlers import focus, milestones, pain
from tests.conftest import ALICE, SlackUser, message_text
from tests.test_isolation import ACTIONS, VIEWS

BROADCAST = re.compile(r"<!(?:channel|here|everyone)\b")
TRICKY = (
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U0BOB|bob>",
    "<#C0MLTEAM|ml-team>",
    "<https://example.com|link>",
    "*bold* _it_ `code` ~x~",
    "&lt;b&gt;&amp;",
    "\x00\x07\x1b[31m",
    "9999999999999999",
    "-1",
    "0",
    "2026-02-30",
    "25:99",
    "Q9",
    "in 999999 weeks",
    "confidence 500%",
    "because",
    "target",
    "🧪" * 50,
    "x" * 10_000,
)
WORDS = {
    "/pain": (
        "",
        "+1",
        "metoo",
        "list",
        "show",
        "top",
        "threshold",
        "merge",
        "split",
        "theme",
        "review",
        "leads",
        "leads add",
        "leads remove",
        "export",
        "reaction",
        "digest",
        "digest schedule",
        "log",
        "help",
    ),
    "/maker": (
        "",
        "check",
        "slots",
        "set",
        "set windows",
        "set day",
        "set free",
        "set timezone",
        "set defer",
        "set long",
        "set big",
        "set defaults",
        "calendar",
        "help",
    ),
    "/milestone": (
        "",
        "list",
        "vision",
        "add",
        "show",
        "edit",
        "edit 1 title",
        "edit 1 target",
        "edit 1 confidence",
        "achieved",
        "drop",
        "cadence",
        "checkins",
        "calibration",
        "help",
    ),
}


def command_texts(command: str) -> st.SearchStrategy[str]:
    pieces = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=40)), max_size=4)
    return st.builds(
        lambda word, rest: f"{word} {' '.join(rest)}".strip(),
        st.sampled_from(WORDS[command]),
        pieces,
    )


@pytest.mark.parametrize("command", sorted(WORDS))
def test_any_text_gets_a_clear_answer_and_never_pings_everyone(
    slack: SlackUser, fake_slack: FakeSlack, command: str
) -> None:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=command_texts(command))
    def answers_clearly(text: str) -> None:
        seen = len(fake_slack.calls)
        answer = slack.command(text, command=command)
        assert answer.status == 200, (text, answer.body[:500])
        if not answer.body:  # answered after the acknowledgement: a modal or a public post
            deadline = time.monotonic() + 5
            while len(fake_slack.calls) == seen and time.monotonic() < deadline:
                time.sleep(0.01)
        sent = json.dumps([call.params for call in fake_slack.calls[seen:]])
        assert answer.body or sent != "[]", text
        assert not BROADCAST.search(answer.body), (text, answer.body[:500])
        assert not BROADCAST.search(sent), text

    answers_clearly()


PAYLOAD_TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=200), st.integers().map(str))


def test_any_button_value_gets_a_clear_answer(slack: SlackUser, fake_slack: FakeSlack) -> None:
    slack.command("add Ship the eval harness")
    slack.command("GPU queue takes forever", command="/pain")
    slack.command("add Ship it target in 10 weeks", command="/milestone")

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(action_id=st.sampled_from(ACTIONS), value=PAYLOAD_TEXT)
    def clicks_safely(action_id: str, value: str) -> None:
        seen = len(fake_slack.calls)
        answer = slack.click({"action_id": action_id, "value": value, "block_id": "fuzz"})
        assert answer.status == 200, (action_id, value, answer.body[:300])
        sent = json.dumps([call.params for call in fake_slack.calls[seen:]])
        assert not BROADCAST.search(sent), (action_id, value)

    clicks_safely()


def test_any_modal_submission_gets_a_clear_answer(slack: SlackUser) -> None:
    slack.command("add Ship the eval harness")
    slack.command(f"leads add <@{ALICE}|alice>", command="/pain")
    slack.command("GPU queue takes forever", command="/pain")

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(callback_id=st.sampled_from(VIEWS), metadata=PAYLOAD_TEXT, value=PAYLOAD_TEXT)
    def submits_safely(callback_id: str, metadata: str, value: str) -> None:
        view = {"callback_id": callback_id, "private_metadata": metadata}
        values = {
            block: {
                action: {
                    "value": value,
                    "selected_date": value,
                    "selected_option": {"value": value},
                }
            }
            for block, action in (
                (focus.ADD_TEXT_BLOCK, "text"),
                (milestones.CONFIDENCE_BLOCK, "confidence"),
                (milestones.DATE_BLOCK, "date"),
                (milestones.REASON_BLOCK, "reason"),
                (pain.THEME_BLOCK, "theme"),
                (pain.STATUS_BLOCK, "status"),
                (pain.NOTE_BLOCK, "note"),
            )
        }
        answer = slack.post(slack.requests.view_submission(view, values, user_id=ALICE))
        assert answer.status == 200, (callback_id, metadata, value, answer.body[:300])
        assert not BROADCAST.search(answer.body)

    submits_safely()


def test_a_button_value_beyond_any_id_is_refused_calmly(slack: SlackUser) -> None:
    slack.command("add Ship the eval harness")
    for value in ("2147483647", "2147483648", "99999999999"):
        answer = slack.click({"action_id": focus.DONE_ACTION, "value": value, "block_id": "b"})
        assert answer.status == 200, value
        [reply] = slack.responses()
        assert "no longer on any list here" in message_text(reply)
    assert "*1.* Ship the eval harness" in slack.command("").text
