"""Whatever people type, what focusbot posts can never ping a channel or carry a script link."""

import json
import re
from datetime import UTC, datetime

from freezegun import freeze_time

from bot.app.factory import Focusbot
from bot.console.fakeslack import FakeSlack
from handlers.blocks import fallback, safe_mrkdwn
from tests.conftest import BOB, SlackUser

HOSTILE = "Ship it <!channel> <!here|here> <javascript:alert(1)|click me> <@U0BOB|bob>"
OBEYED = re.compile(r"<!(?:channel|here|everyone)|<javascript:|<@U0BOB\|")


def test_a_shared_list_escapes_its_items_in_the_notification_text_too(
    slack: SlackUser, fake_slack: FakeSlack
) -> None:
    slack.command(f"add {HOSTILE}")
    slack.command("share")
    [posted] = slack.responses()
    assert posted["response_type"] == "in_channel"
    assert not OBEYED.search(json.dumps(posted)), posted["text"]


def test_the_weekly_check_escapes_its_items_in_the_notification_text_too(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    with freeze_time(datetime(2026, 10, 7, 10, 0, tzinfo=UTC), tick=True):
        slack.command(f"add {HOSTILE}")
    with freeze_time(datetime(2026, 10, 12, 8, 30, tzinfo=UTC)):
        focusbot.scheduler.tick()
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post["text"].startswith("Weekly focus check.")
    assert not OBEYED.search(json.dumps(post)), post["text"]


def test_focusbot_s_own_mentions_and_permalinks_stay_and_escaped_text_is_not_escaped_again() -> (
    None
):
    own = f"<@{BOB}> in <#C0MLTEAM>: <https://x.slack.com/archives/C1/p1|Original message>"
    assert safe_mrkdwn(own) == own
    assert safe_mrkdwn("&lt;!here&gt; &amp; more") == "&lt;!here&gt; &amp; more"
    assert fallback("<!everyone> <mailto:a@b|x>") == "&lt;!everyone> &lt;mailto:a@b|x>"
    assert safe_mrkdwn("> a quote") == "> a quote"
