"""The team's corrections teach /pain: what people keep apart is not suggested again."""

from bot.app.factory import Focusbot
from tests.conftest import ALICE, BOB, CAROL, SlackUser, buttons

DAN = "U0DAN"


def pain(slack: SlackUser, text: str, user: str) -> dict:
    """Type `/pain <text>` and return the answer's JSON."""
    return slack.command(text, user=user, command="/pain").json


def shown(answer: dict) -> list[str]:
    """Return the numbers of the pain points an answer suggests, in order."""
    return [
        str(block["text"]["text"]).split("*")[1]
        for block in answer.get("blocks", [])
        if str(block.get("text", {}).get("text", "")).startswith("*#")
    ]


def test_after_a_few_corrections_the_suggestions_follow_them(
    slack: SlackUser, focusbot: Focusbot
) -> None:
    pain(slack, "the nightly training run crashes on the new cluster", ALICE)
    mistaken = pain(slack, "the nightly evaluation run crashes", BOB)
    assert shown(mistaken) == ["#1"]
    [keep_apart] = [b for b in buttons(mistaken) if b["action_id"] == "pain_separate"]
    assert slack.click(keep_apart, user=BOB).status == 200
    assert "Kept #2 separate" in str(slack.responses())

    # Words alone would show both: this complaint is about as close to #1 as to #2.
    later = pain(slack, "nightly run crashes", CAROL)
    assert shown(later) == ["#2"]

    pain(slack, "GPU queue takes forever", ALICE)
    pain(slack, "no free accelerators for my experiments before lunch", DAN)
    lead = slack.command("leads add <@U0ALICE>", user=ALICE, command="/pain")
    assert lead.status == 200
    merged = slack.command("merge 5 4", user=ALICE, command="/pain").text
    assert "Moved 1 pain point into the theme “GPU queue takes forever”" in merged
    again = pain(slack, "no free accelerators before lunch again", BOB)
    assert shown(again) == ["#5"]
    view = slack.command("show 6", user=BOB, command="/pain").text
    assert "GPU queue takes forever" in view  # it joined the theme the lead merged #5 into
