"""Commands and digest sections run as many SQL statements for a big team as for a small one."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from slack_bolt.request import BoltRequest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot import milestones
from bot.app.factory import Focusbot, create_focusbot
from bot.common import digest
from bot.common.caller import Caller
from bot.common.digest import window_ending
from bot.console.fakeslack import FakeSlack, SlackRequests
from bot.pain.digest import crossed_section, status_section
from bot.runtime import scheduler
from storage.base import Workspace
from storage.digest import DigestSchedule
from storage.focus import FocusItem, FocusList
from storage.milestones import MilestoneTried
from storage.pain import PainPoint, PainReport, PainStatusChange, PainTheme
from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    message_text,
    settings_for,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WORKSPACE = Workspace(TEAM)
PEOPLE = (ALICE, BOB, CAROL)


@pytest.fixture
def focusbot(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Focusbot:
    """Return a focusbot that answers once its listeners are done, at a fixed moment."""
    return create_focusbot(
        settings_for(fake_slack, database_url),
        engine=engine,
        clock=lambda: NOW,
        process_before_response=True,
    )


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs while inside."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def statements_of_command(focusbot: Focusbot, command: str, text: str) -> int:
    """Type a slash command; return how many SQL statements answering it took."""
    request = SlackRequests(SIGNING_SECRET, team_id=TEAM).command(
        command, text, user_id=ALICE, channel_id=CHANNEL, response_url="http://127.0.0.1:9/r"
    )
    with counted(focusbot.services.engine) as seen:
        response = focusbot.app.dispatch(BoltRequest(body=request.body, headers=request.headers))
    assert response.status == 200, response.body
    return len(seen)


def same_count_small_and_big(
    focusbot: Focusbot, grow: Callable[[Session, int], None], measure: Callable[[], int]
) -> tuple[int, int]:
    """Measure with 3 of something, then with 30; return both statement counts.

    Each measure is taken a second time, once focusbot has learnt what it keeps in memory (the
    caller's timezone, the demand of the new reports).
    """
    with focusbot.services.session() as session:
        grow(session, 3)
    measure()
    small = measure()
    with focusbot.services.session() as session:
        grow(session, 27)
    measure()
    return small, measure()


def add_milestones(session: Session, count: int) -> None:
    """Add milestones, some achieved or dropped, with changed confidences and things tried."""
    caller = Caller(WORKSPACE, ALICE, CHANNEL)
    board = milestones.ensure_board(session, caller, "Europe/Berlin", NOW)
    for index in range(count):
        target = (NOW + timedelta(days=30 + index)).date()
        added = milestones.add(session, board, ALICE, f"Step {index}", target, 50, NOW)
        milestones.set_confidence(session, added, BOB, 60 + index % 30, NOW)
        assert added.id is not None
        session.add(MilestoneTried(milestone_id=added.id, what="a spike", actor_id=BOB, at=NOW))
        if index % 3 == 1:
            milestones.achieve(session, added, ALICE, NOW)
        elif index % 3 == 2:
            milestones.drop(session, added, ALICE, NOW, "changed course")


def add_crossed_themes(session: Session, count: int) -> None:
    """Add themes that crossed the threshold this week, each with a status change."""
    last = session.exec(select(func.count()).select_from(PainPoint)).one()
    for index in range(count):
        theme = PainTheme(team_id=TEAM, created_at=NOW, crossed_at=NOW - timedelta(hours=1))
        session.add(theme)
        session.flush()
        assert theme.id is not None
        point = PainPoint(
            team_id=TEAM,
            number=last + index + 1,
            text=f"the build breaks {index}",
            reporter_id=ALICE,
            logged_by=ALICE,
            channel_id=CHANNEL,
            created_at=NOW - timedelta(days=1),
            theme_id=theme.id,
        )
        session.add(point)
        session.flush()
        assert point.id is not None
        for person in PEOPLE:
            session.add(
                PainReport(team_id=TEAM, pain_id=point.id, user_id=person, at=point.created_at)
            )
        session.add(
            PainStatusChange(
                theme_id=theme.id, status="planned", actor_id=BOB, at=NOW - timedelta(hours=2)
            )
        )


def test_the_milestone_board_takes_as_many_statements_for_30_milestones_as_for_3(
    focusbot: Focusbot,
) -> None:
    small, big = same_count_small_and_big(
        focusbot, add_milestones, lambda: statements_of_command(focusbot, "/milestone", "list")
    )
    assert big == small


def test_the_digest_names_30_crossed_themes_in_as_many_statements_as_3(
    focusbot: Focusbot,
) -> None:
    window = window_ending(WORKSPACE, CHANNEL, NOW, "Europe/Berlin")

    def measure() -> int:
        with focusbot.services.session() as session, counted(focusbot.services.engine) as seen:
            crossed = crossed_section(session, window)
            changes = status_section(session, window)
        assert crossed is not None and changes is not None
        assert all(line.people == PEOPLE for line in crossed.lines)
        return len(seen)

    small, big = same_count_small_and_big(focusbot, add_crossed_themes, measure)
    assert big == small


def test_pain_top_takes_as_many_statements_for_30_themes_as_for_3(focusbot: Focusbot) -> None:
    small, big = same_count_small_and_big(
        focusbot, add_crossed_themes, lambda: statements_of_command(focusbot, "/pain", "top")
    )
    assert big == small


def add_channels_with_digests(session: Session, workspaces: int, channels: int) -> list[str]:
    """Give channels in new workspaces a digest due before now, a focus list and a pain point.

    Each workspace's pain points share a theme named after the workspace; return the channels.
    """
    known = session.exec(select(func.count()).select_from(DigestSchedule)).one()
    set_up, week_before = NOW - timedelta(days=7), NOW - timedelta(days=6)
    names = []
    for w in range(workspaces):
        team = f"T{known + w:03d}"
        theme = PainTheme(team_id=team, name=f"Flaky GPUs at {team}", created_at=week_before)
        session.add(theme)
        session.flush()
        assert theme.id is not None
        for c in range(channels):
            channel = f"C{team}X{c}"
            names.append(channel)
            digest.ensure_schedule(session, Workspace(team), channel, lambda: "UTC", set_up)
            focus_list = FocusList(
                team_id=team, channel_id=channel, checkin_weekday=None, created_at=set_up
            )
            session.add(focus_list)
            session.flush()
            assert focus_list.id is not None
            session.add(
                FocusItem(
                    list_id=focus_list.id,
                    text=f"Ship the harness of {channel}",
                    state="open",
                    added_by=ALICE,
                    added_at=NOW - timedelta(weeks=8),
                )
            )
            point = PainPoint(
                team_id=team,
                number=c + 1,
                text=f"the queue in {channel} is slow",
                reporter_id=ALICE,
                logged_by=ALICE,
                channel_id=channel,
                created_at=week_before,
                theme_id=theme.id,
            )
            session.add(point)
            session.flush()
            assert point.id is not None
            session.add(PainReport(team_id=team, pain_id=point.id, user_id=ALICE, at=week_before))
    return names


def test_digests_due_together_read_as_much_for_40_channels_in_8_workspaces_as_for_4(
    focusbot: Focusbot, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow machine must not split a delivery transaction (and its read-ahead) in two.
    monkeypatch.setattr(scheduler, "SETTLE_SECONDS", 600.0)
    focusbot.scheduler.tick()  # the hourly chores, out of the way

    def deliver(workspaces: int, channels: int) -> tuple[list[str], list[str]]:
        with focusbot.services.session() as session:
            names = add_channels_with_digests(session, workspaces, channels)
        fake_slack.clear()
        with counted(focusbot.services.engine) as seen:
            assert focusbot.scheduler.tick().sent == len(names)
        return names, seen

    _, small = deliver(workspaces=4, channels=1)
    big_channels, big = deliver(workspaces=8, channels=5)

    def reads(statements: list[str]) -> list[str]:
        return [s for s in statements if not s.lstrip().upper().startswith("INSERT")]

    assert len(reads(big)) == len(reads(small))
    # The one write a digest adds is its next week's post.
    assert len(big) - len(reads(big)) == len(big_channels)
    posts = {
        post["channel"]: message_text(post) for post in fake_slack.calls_to("chat.postMessage")
    }
    assert set(posts) == set(big_channels)
    for channel, text in posts.items():
        team = channel[1:5]
        assert f"the queue in {channel} is slow" in text
        assert f"Ship the harness of {channel}" in text
        assert f"Flaky GPUs at {team} — 1 person, rising" in text
        assert text.count("the queue in") == 1 and text.count("Flaky GPUs") == 1
