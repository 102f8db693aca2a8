"""Any text after `/pain`, `/maker` or `/milestone` gets a clear answer: no 500, no ping."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.fakeslack import FakeSlack
from tests.conftest import SlackUser

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
        sent = json.dumps([call.params for call in fake_slack.calls[seen:]])
        assert answer.body or sent != "[]", text
        assert not BROADCAST.search(answer.body), (text, answer.body[:500])
        assert not BROADCAST.search(sent), text

    answers_clearly()
