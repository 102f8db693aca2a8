"""What focusbot renders is valid Block Kit, and Slack receives exactly what slack_sdk would send.

Replies are converted to JSON without slack_sdk's validation (`handlers.blocks.as_dicts`), so the
validation lives here: every reply the commands render is validated and compared with `to_dict()`.
"""

import json
from collections.abc import Sequence

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    ImageBlock,
    InputBlock,
    Option,
    OptionGroup,
    PlainTextInputElement,
    RichTextBlock,
    RichTextSectionElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)

import handlers.slack
from handlers.blocks import as_dicts, context, header, section
from tests.conftest import BOB, SlackUser

COMMANDS = (
    ("/focus", "add Ship the eval harness <@U0BOB|bob>"),
    ("/focus", "add <!channel> & <script>alert(1)</script> *bold* `code`"),
    ("/focus", ""),
    ("/focus", "share"),
    ("/focus", "done 1"),
    ("/focus", "drop 1 not needed after all"),
    ("/focus", "history"),
    ("/focus", "limit"),
    ("/focus", "checkin"),
    ("/focus", "done 9"),
    ("/focus", "frobnicate"),
    ("/maker", ""),
    ("/maker", "check tue 10:30 45m 4"),
    ("/maker", "slots"),
    ("/maker", "set windows 09:00-10:00"),
    ("/maker", "help"),
    ("/pain", "the GPU queue takes forever"),
    ("/pain", "the GPU queue is slow again"),
    ("/pain", "list"),
    ("/pain", "top"),
    ("/pain", "show 1"),
    ("/milestone", "add Ship the eval harness target 2030-03-01"),
    ("/milestone", "list"),
    ("/milestone", "show 1"),
    ("/pain", "digest"),  # the weekly digest, as the scheduler posts it
)


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[list[Block]]:
    """Record the blocks of every reply the app answers with."""
    seen: list[list[Block]] = []

    def recording(blocks: Sequence[Block]) -> list[dict]:
        seen.append(list(blocks))
        return as_dicts(blocks)

    monkeypatch.setattr(handlers.slack, "as_dicts", recording)
    return seen


def assert_sent_as_slack_sdk_would(blocks: Sequence[Block]) -> None:
    validated = [block.to_dict() for block in blocks]  # raises on anything Slack would refuse
    assert json.dumps(as_dicts(blocks)) == json.dumps(validated)
    for sent in validated:
        parsed = Block.parse(sent)
        assert parsed is not None and parsed.to_dict() == sent


def test_every_reply_of_the_commands_is_valid_and_sent_as_slack_sdk_would(
    slack: SlackUser, rendered: list[list[Block]]
) -> None:
    for command, text in COMMANDS:
        assert slack.command(text, command=command).status == 200
    assert len(rendered) >= len(COMMANDS)
    for blocks in rendered:
        assert_sent_as_slack_sdk_would(blocks)


def test_every_kind_of_block_focusbot_builds_is_sent_as_slack_sdk_would() -> None:
    confirm = ConfirmObject(title="Drop?", text="It leaves the list.", confirm="Drop", deny="Keep")
    options = [Option(value=str(n), label=f"{n} weeks") for n in (1, 2)]
    assert_sent_as_slack_sdk_would(
        [
            header("Focus"),
            section("*1.* Ship <@U0BOB> &lt;!channel&gt;"),
            context("1 of 3 · room for more"),
            DividerBlock(),
            ActionsBlock(
                block_id="focus_item_1",
                elements=[
                    ButtonElement(text="Done", action_id="done", value="1", style="primary"),
                    ButtonElement(text="Drop", action_id="drop", value="1", confirm=confirm),
                    StaticSelectElement(
                        action_id="weeks", options=options, initial_option=options[0]
                    ),
                    StaticSelectElement(
                        action_id="grouped",
                        option_groups=[OptionGroup(label="All", options=options)],
                    ),
                ],
            ),
            InputBlock(
                block_id="text",
                label="What",
                element=PlainTextInputElement(action_id="text", multiline=True, max_length=1000),
            ),
            InputBlock(
                block_id="owners",
                label="Who",
                optional=True,
                element=UserMultiSelectElement(action_id="owners", initial_users=[BOB]),
            ),
            SectionBlock(fields=["*a*", "b"], text="with fields"),
            ImageBlock(image_url="https://example.com/chart.png", alt_text="A chart"),
            RichTextBlock(elements=[RichTextSectionElement(elements=[])]),
        ]
    )
