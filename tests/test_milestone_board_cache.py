"""The board `/milestone` shows follows every change at once, whichever process made it."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot import milestones
from bot.common.caller import Caller
from handlers.milestones.views import list_reply
from storage.base import Workspace
from storage.db import make_engine, session_scope
from storage.milestones import MilestoneBoard
from tests.conftest import ALICE, BOB, CHANNEL, TEAM, message_text

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CALLER = Caller(Workspace(TEAM), ALICE, CHANNEL)


@pytest.fixture
def other_process(database_url: str, engine: Engine) -> Iterator[Engine]:
    """Return an engine of its own on the same database, as another process would have."""
    other = make_engine(database_url)
    yield other
    other.dispose()


@pytest.fixture
def board_id(engine: Engine) -> int:
    """Add a board with one milestone, "Ship the eval harness" at 50%, due in ten weeks."""
    with session_scope(engine) as session:
        board = milestones.ensure_board(session, CALLER, "Europe/Berlin", NOW)
        target = (NOW + timedelta(weeks=10)).date()
        milestones.add(session, board, ALICE, "Ship the eval harness", target, 50, NOW)
        assert board.id is not None
        return board.id


def shown(engine: Engine, now: datetime = NOW) -> str:
    """Return the text of `/milestone list` in the channel, as one process answers it."""
    with session_scope(engine) as session:
        board = milestones.find_board(session, CALLER)
        return message_text(list_reply(session, board, now).as_message())


def change(engine: Engine, board_id: int, what: str) -> None:
    """Make one change to the board or its first milestone, in a transaction of its own."""
    with session_scope(engine) as session:
        board = session.get(MilestoneBoard, board_id)
        assert board is not None
        milestone = milestones.open_milestone_at(session, board, 1)
        if what == "rename":
            milestones.rename(session, milestone, BOB, "Ship the nightly evals", NOW)
        elif what == "confidence":
            milestones.set_confidence(session, milestone, BOB, 85, NOW)
        elif what == "tried":
            milestones.record_tried(session, milestone, BOB, "a spike", "", None, NOW)
        elif what == "vision":
            milestones.set_vision(session, board, BOB, "Evals nobody waits for", NOW)
        else:
            milestones.achieve(session, milestone, BOB, NOW)


@pytest.mark.parametrize(
    ("what", "now_shown"),
    [
        ("rename", "Ship the nightly evals"),
        ("confidence", "85%"),
        ("tried", "1 tried in 4 weeks"),
        ("vision", "Evals nobody waits for"),
        ("achieve", "1 achieved, 0 dropped"),
    ],
)
def test_a_change_made_by_another_process_is_shown_at_once(
    engine: Engine, other_process: Engine, board_id: int, what: str, now_shown: str
) -> None:
    before = shown(engine)
    assert now_shown not in before
    assert shown(engine) == before  # the second time from what this process kept
    change(other_process, board_id, what)
    assert now_shown in shown(engine)


def test_a_change_made_by_this_process_is_shown_at_once(engine: Engine, board_id: int) -> None:
    shown(engine)
    change(engine, board_id, "rename")
    assert "Ship the nightly evals" in shown(engine)


def test_a_change_rolled_back_is_never_shown(engine: Engine, board_id: int) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        board = session.get(MilestoneBoard, board_id)
        milestone = milestones.open_milestone_at(session, board, 1)
        milestones.rename(session, milestone, BOB, "A name that never was", NOW)
        assert "A name that never was" in message_text(list_reply(session, board, NOW).as_message())
        raise RuntimeError("the request failed after rendering")
    assert "A name that never was" not in shown(engine)
    assert "Ship the eval harness" in shown(engine)


def test_the_board_counts_the_days_to_the_target_anew_each_day(
    engine: Engine, board_id: int
) -> None:
    assert "in 10 weeks" in shown(engine)
    assert "in 9 weeks" in shown(engine, NOW + timedelta(days=7))
