"""No one where they don't belong: one workspace can neither read nor change another's data."""

import json
from typing import Any

import pytest
from sqlalchemy import ColumnElement, Table, inspect, select, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.console.fakeslack import FakeSlack
from handlers import focus, milestones, pain
from tests.conftest import ALICE, BOB, CHANNEL, SlackUser, message_text

OTHER_TEAM = "T0OTHER"
SECRET_WORDS = ("Rewrite the feature store", "GPU queue takes forever", "Ship the ranking model")
# Everything another workspace could click or submit, with values that point at TEAM's data.
ACTIONS = (
    focus.DONE_ACTION,
    focus.DROP_ACTION,
    focus.ADD_ACTION,
    pain.SAME_ACTION,
    pain.SEPARATE_ACTION,
    pain.REVIEW_ACTION,
    milestones.ON_TRACK_ACTION,
    milestones.CONFIDENCE_ACTION,
    milestones.MOVE_ACTION,
    milestones.ACHIEVED_ACTION,
    milestones.DROP_ACTION,
    milestones.APPROACH_ACTION,
)
VIEWS = (focus.ADD_VIEW, pain.REVIEW_VIEW, milestones.CONFIDENCE_VIEW, milestones.MOVE_VIEW)
FORGED_VALUES = ("1", "2", "3", json.dumps({"id": 1, "point": 1, "milestone": 1, "theme": 1}))
UNSCOPED = {"received_request", "person", "alembic_version"}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every focusbot table that belongs to TEAM or to no workspace."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    existing = set(inspect(engine).get_table_names())
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name in existing - UNSCOPED]
    with engine.connect() as connection:
        for table in tables:
            query = select(table)
            ours = _ours(table)
            if ours is not None:
                query = query.where(ours)
            rows[table.name] = sorted(map(tuple, connection.execute(query)), key=repr)
    return rows


def _ours(table: Table) -> ColumnElement[bool] | None:
    """Return the condition that keeps TEAM's rows, following foreign keys to a team_id."""
    if "team_id" in table.c:
        return table.c.team_id != OTHER_TEAM
    for foreign_key in table.foreign_keys:
        parent = _ours(foreign_key.column.table)
        if parent is not None:
            return foreign_key.parent.in_(select(foreign_key.column).where(parent))
    return None


@pytest.fixture
def team_data(slack: SlackUser) -> None:
    """Give TEAM a focus list, pain points, a milestone, leads and a maker schedule."""
    assert "Added" in slack.command(f"add {SECRET_WORDS[0]}").text
    slack.command(f"leads add <@{ALICE}|alice>", command="/pain")
    assert "#1" in slack.command(SECRET_WORDS[1], command="/pain").text
    slack.command("GPU queue is slow again", command="/pain", user=BOB)
    answer = slack.command(f"add {SECRET_WORDS[2]} target in 10 weeks", command="/milestone")
    assert SECRET_WORDS[2] in answer.text
    slack.command("set windows 10:10-10:40 15:10-15:40", command="/maker")


@pytest.fixture
def intruder(http_url: str, fake_slack: FakeSlack) -> SlackUser:
    """Return someone of another workspace, in a channel and with a user id equal to TEAM's."""
    return SlackUser(http_url, fake_slack, team_id=OTHER_TEAM)


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("/focus", ""),
        ("/focus", "history 52"),
        ("/focus", "all"),
        ("/focus", f"team <#{CHANNEL}>"),
        ("/pain", "list all"),
        ("/pain", "show 1"),
        ("/pain", "top 52"),
        ("/pain", "digest"),
        ("/pain", "leads"),
        ("/milestone", "list"),
        ("/milestone", "show 1"),
        ("/milestone", "calibration"),
        ("/maker", ""),
    ],
)
def test_another_workspace_reads_nothing(
    team_data: None, intruder: SlackUser, command: str, text: str
) -> None:
    answer = intruder.command(text, command=command)
    assert answer.status == 200
    for word in (*SECRET_WORDS, "10:10", "15:10"):
        assert word not in answer.text


def test_another_workspaces_home_tab_shows_nothing_of_ours(
    team_data: None, intruder: SlackUser, fake_slack: FakeSlack
) -> None:
    event = {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE"}
    fake_slack.clear()
    intruder.post(intruder.requests.event(event, event_id="Ev0INTRUDER"))
    [published] = fake_slack.wait_for("views.publish")
    text = message_text(published["view"])
    assert not any(word in text for word in SECRET_WORDS)


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("/focus", "done 1"),
        ("/focus", "drop 1"),
        ("/focus", "edit 1 hijacked"),
        ("/focus", "limit 1"),
        ("/focus", f"follow <#{CHANNEL}>"),
        ("/focus", "digest here mon 09:00"),
        ("/pain", "+1 1"),
        ("/pain", "merge 2 1"),
        ("/pain", "theme 1 hijacked"),
        ("/pain", f"leads remove <@{ALICE}|alice>"),
        ("/pain", "threshold 1 1"),
        ("/milestone", "achieved 1"),
        ("/milestone", "edit 1 title hijacked"),
        ("/milestone", "vision hijacked"),
        ("/maker", "set defaults"),
    ],
)
def test_another_workspace_changes_nothing_of_ours_by_command(
    team_data: None, intruder: SlackUser, engine: Engine, command: str, text: str
) -> None:
    before = snapshot(engine)
    assert intruder.command(text, command=command).status == 200
    assert snapshot(engine) == before


def test_forged_clicks_from_another_workspace_change_nothing(
    team_data: None, intruder: SlackUser, engine: Engine
) -> None:
    before = snapshot(engine)
    for action_id in ACTIONS:
        for value in FORGED_VALUES:
            answer = intruder.click({"action_id": action_id, "value": value, "block_id": "forged"})
            assert answer.status == 200, (action_id, value)
    assert snapshot(engine) == before


def test_forged_modal_submissions_from_another_workspace_change_nothing(
    team_data: None, intruder: SlackUser, engine: Engine
) -> None:
    before = snapshot(engine)
    for callback_id in VIEWS:
        for value in FORGED_VALUES:
            metadata = json.dumps(
                {
                    key: int(value) if value.isdigit() else 1
                    for key in (
                        "list_id",
                        "point",
                        "theme",
                        "theme_id",
                        "milestone",
                        "milestone_id",
                        "board_id",
                    )
                }
            )
            view = {"callback_id": callback_id, "private_metadata": metadata}
            values = {
                focus.ADD_TEXT_BLOCK: {"text": {"value": "hijacked"}},
                milestones.CONFIDENCE_BLOCK: {"confidence": {"selected_option": {"value": "90"}}},
                milestones.DATE_BLOCK: {"date": {"selected_date": "2030-01-01"}},
                pain.THEME_BLOCK: {"theme": {"selected_option": {"value": value}}},
                pain.STATUS_BLOCK: {"status": {"selected_option": {"value": "solved"}}},
                pain.NOTE_BLOCK: {"note": {"value": "hijacked"}},
            }
            answer = intruder.post(intruder.requests.view_submission(view, values, user_id=ALICE))
            assert answer.status == 200, (callback_id, value)
    assert snapshot(engine) == before
    with engine.connect() as connection:
        hijacked = connection.execute(
            text("SELECT COUNT(*) FROM focus_item WHERE text = 'hijacked'")
        )
        assert hijacked.scalar() == 0


def test_the_same_channel_id_in_two_workspaces_keeps_two_lists(
    slack: SlackUser, intruder: SlackUser
) -> None:
    slack.command("add ours")
    intruder.command("add theirs", channel=CHANNEL)
    assert "theirs" not in slack.command("").text
    assert "ours" not in intruder.command("").text
