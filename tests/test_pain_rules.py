"""Pain point rules without Slack: reading commands, demand, the similarity index, export."""

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot import pain
from bot.pain import Log, Matcher, Merge, MeToo, NameTheme, PainError, Threshold, UsageError
from bot.pain.matching import PainIndex
from bot.pain.similar import found_by, search, synced_index
from storage.base import Workspace
from storage.db import make_engine, session_scope
from storage.pain import IN_PROGRESS, WONT_FIX, PainPoint, PainTheme

TEAM = Workspace("T0RULES")
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("GPU queue takes forever", Log("GPU queue takes forever")),
        ("log list of tables is missing", Log("list of tables is missing")),
        ("+1 12", MeToo(12)),
        ("metoo #12", MeToo(12)),
        ("merge 4 into 2", Merge(4, 2)),
        ("theme 4 Slow   GPU queue", NameTheme(4, "Slow GPU queue")),
        ("threshold 5 2", Threshold(5, 2)),
        ("list won't fix", pain.ListPoints((WONT_FIX,))),
        ("list In Progress", pain.ListPoints((IN_PROGRESS,))),
        ("reaction :Pain:", pain.Reaction(emoji="pain")),
        ("digest schedule tue 09:15", pain.Digest("schedule", 1, 9 * 60 + 15, None)),
    ],
)
def test_commands_are_read(text: str, command: pain.Command) -> None:
    assert pain.parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("merge 4 4", "Merge a pain point into another one"),
        ("merge 4", "Give a pain point's number"),
        ("split 4 5", "takes only a number"),
        ("theme 4", "Give the theme a name"),
        ("threshold 3", "Give a number of people and of weeks"),
        ("threshold 3 60", "Weeks go from 1 to 52"),
        ("threshold many 4", "Give a number of people"),
        ("top 99999999999999999999", "Give a number of weeks"),
        ("reaction :a b:", "Give one emoji"),
        ("digest schedule mon 25:00", "is not a 24-hour time"),
        ("digest weekly", "Use `/pain digest`"),
        ("export now", "takes nothing after it"),
    ],
)
def test_bad_commands_say_how_to_write_them(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        pain.parse_command(text)


def test_demand_counts_people_once_even_across_merged_pain_points(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = pain.log_pain(session, TEAM, "U1", "C1", "No access to the events table", NOW)
        pain.log_pain(session, TEAM, "U2", "C1", "Code reviews take a week", NOW)
        pain.log_pain(session, TEAM, "U1", "C1", "Our cloud bill doubled", NOW)
        pain.me_too(session, TEAM, "U2", first.point.number, NOW)
    with session_scope(engine) as session:
        pain.merge(session, TEAM, "U9", 3, 2, NOW)
        themes, total = pain.top_themes(session, TEAM, 8, NOW + timedelta(days=1))
    assert total == 2
    assert sorted(demand.people for demand in themes) == [2, 2]


def test_demand_follows_what_another_process_logged_and_merged(
    engine: Engine, database_url: str
) -> None:
    other_process = make_engine(database_url)  # its own engine, so its own demand in memory
    later = NOW + timedelta(days=1)

    def top(on: Engine) -> list[tuple[str, int]]:
        with session_scope(on) as session:
            themes, _ = pain.top_themes(session, TEAM, 8, later)
        return [(demand.title, demand.people) for demand in themes]

    try:
        with session_scope(engine) as session:
            pain.log_pain(session, TEAM, "U1", "C1", "No access to the events table", NOW)
            pain.log_pain(session, TEAM, "U2", "C1", "Our cloud bill doubled", NOW)
        assert top(engine) == [("Our cloud bill doubled", 1), ("No access to the events table", 1)]
        assert top(other_process) == top(engine)
        with session_scope(other_process) as session:
            pain.me_too(session, TEAM, "U3", 1, NOW)
        assert top(engine) == [("No access to the events table", 2), ("Our cloud bill doubled", 1)]
        with session_scope(other_process) as session:
            pain.merge(session, TEAM, "U9", 2, 1, NOW)
        assert top(engine) == [("No access to the events table", 3)]
    finally:
        other_process.dispose()


def test_top_themes_quote_and_last_seen_follow_a_pain_point_logged_elsewhere(
    engine: Engine, database_url: str
) -> None:
    other_process = make_engine(database_url)  # its own engine, so its own ledger in memory
    later = NOW + timedelta(hours=3)

    def top(on: Engine) -> list[tuple[str, str, datetime, datetime]]:
        with session_scope(on) as session:
            themes, _ = pain.top_themes(session, TEAM, 8, later)
        return [(d.title, d.quote.text, d.first_seen, d.last_seen) for d in themes]

    try:
        with session_scope(engine) as session:
            pain.log_pain(session, TEAM, "U1", "C1", "No access to the events table", NOW)
        first = ("No access to the events table", "No access to the events table", NOW, NOW)
        assert top(engine) == top(engine) == [first]
        with session_scope(other_process) as session:
            logged = pain.log_pain(
                session,
                TEAM,
                "U2",
                "C1",
                "Still no access to the events table",
                NOW + timedelta(hours=1),
            )
        assert logged.grouped
        assert top(engine) == [
            (first[0], "Still no access to the events table", NOW, NOW + timedelta(hours=1))
        ]
        with session_scope(other_process) as session:
            pain.me_too(session, TEAM, "U3", 1, NOW + timedelta(hours=2))
        assert top(engine)[0][3] == NOW + timedelta(hours=2)
    finally:
        other_process.dispose()


def test_top_themes_count_the_reports_inside_the_window_as_time_moves_on(engine: Engine) -> None:
    def top(at: datetime) -> tuple[list[tuple[str, int, int]], int]:
        with session_scope(engine) as session:
            themes, total = pain.top_themes(session, TEAM, 8, at)
        return [(d.title, d.people, d.previous) for d in themes], total

    cloud, events = "Our cloud bill doubled", "No access to the events table"
    with session_scope(engine) as session:
        pain.log_pain(session, TEAM, "U1", "C1", cloud, NOW + timedelta(weeks=2))
    assert top(NOW + timedelta(weeks=3)) == ([(cloud, 1, 0)], 1)
    with session_scope(engine) as session:  # reported earlier than the report before it
        pain.log_pain(session, TEAM, "U2", "C1", events, NOW)
    assert top(NOW + timedelta(weeks=3)) == ([(events, 1, 0), (cloud, 1, 0)], 2)
    assert top(NOW + timedelta(weeks=9)) == ([(cloud, 1, 0)], 1)
    assert top(NOW + timedelta(weeks=10)) == ([(cloud, 1, 0)], 1)  # on the edge: still in
    assert top(NOW + timedelta(weeks=11)) == ([], 0)


def test_warming_up_at_start_loads_the_index_a_new_process_then_matches_against(
    engine: Engine, database_url: str
) -> None:
    with session_scope(engine) as session:
        for number in range(5):
            pain.log_pain(session, TEAM, "U1", "C1", f"Complaint {number} about the GPU queue", NOW)
    started = make_engine(database_url)
    try:
        pain.warm_up(started, Matcher())
        with session_scope(started) as session:
            assert len(synced_index(session, TEAM, Matcher())) == 5
            logged = pain.log_pain(session, TEAM, "U2", "C1", "The GPU queue again", NOW)
        assert logged.grouped
    finally:
        started.dispose()


def test_the_same_complaint_logged_twice_at_once_ends_in_one_theme(
    engine: Engine, database_url: str
) -> None:
    with session_scope(engine) as session:
        pain.log_pain(session, TEAM, "U1", "C1", "Our cloud bill doubled", NOW)
    other_process = make_engine(database_url)  # its own index in memory
    both_matched = threading.Barrier(2)

    def log(on: Engine, person: str) -> int | None:
        text = "Waiting hours in the GPU queue every morning"
        searched = pain.search_pain(lambda: session_scope(on), TEAM, text, Matcher())
        both_matched.wait(timeout=60)  # neither was written when the other was matched
        with session_scope(on) as session:
            return pain.log_pain(session, TEAM, person, "C1", text, NOW, searched=searched).theme.id

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            themes = list(pool.map(log, [engine, other_process], ["U2", "U3"]))
    finally:
        other_process.dispose()
    assert themes[0] == themes[1]
    with session_scope(engine) as session:
        assert [pain.view_point(session, TEAM, n).point.number for n in (2, 3)] == [2, 3]


def test_pain_points_indexed_after_a_search_score_there_as_in_the_whole_index() -> None:
    index = PainIndex()
    texts = ["GPU queue takes forever", "CI is slow", "Waiting on the GPU queue", "GPU quota"]
    since = ["No GPU in the queue today", "The CI is slow"]
    for key, text in enumerate([*texts, *since], start=1):
        index.add(key, text)
    whole = index.nearest("the GPU queue is slow", None)
    assert index.nearest("the GPU queue is slow", None, from_row=len(texts)) == [
        match for match in whole if match.key > len(texts)
    ]
    assert {match.key for match in whole if match.key > len(texts)} == {5, 6}


def test_a_theme_emptied_by_a_merge_still_has_a_title(engine: Engine) -> None:
    with session_scope(engine) as session:
        pain.log_pain(session, TEAM, "U1", "C1", "No access to the events table", NOW)
        emptied = pain.log_pain(session, TEAM, "U2", "C1", "Our cloud bill doubled", NOW).theme
        pain.merge(session, TEAM, "U9", 2, 1, NOW)
        assert pain.theme_title(session, emptied) == f"a theme merged into another (#{emptied.id})"


def test_a_refused_change_leaves_everything_as_it_was(engine: Engine) -> None:
    with session_scope(engine) as session:
        pain.log_pain(session, TEAM, "U1", "C1", "GPU queue takes forever", NOW)
    with pytest.raises(PainError, match="no pain point 9"), session_scope(engine) as session:
        pain.me_too(session, TEAM, "U2", 9, NOW)
    with session_scope(engine) as session:
        assert pain.view_point(session, TEAM, 1).people == ("U1",)


def test_the_index_picks_up_pain_points_committed_elsewhere(engine: Engine) -> None:
    with session_scope(engine) as session:
        pain.log_pain(session, TEAM, "U1", "C1", "GPU queue takes forever", NOW)
        assert len(synced_index(session, TEAM, Matcher())) == 1
    with session_scope(engine) as session:
        session.add(_point_of_other_process(session))
    with session_scope(engine) as session:
        index = synced_index(session, TEAM, Matcher())
        found = found_by(session, search(index, "waiting hours in the slurm queue for A100s", None))
        assert len(synced_index(session, TEAM, Matcher())) == 2
    assert found.group is not None
    assert {item.point.number for item in found.similar} >= {2}


def _point_of_other_process(session: object) -> PainPoint:
    from sqlmodel import Session

    assert isinstance(session, Session)
    theme = PainTheme(team_id=TEAM.team_id, created_at=NOW)
    session.add(theme)
    session.flush()
    return PainPoint(
        team_id=TEAM.team_id,
        number=2,
        text="waiting hours in the GPU queue",
        reporter_id="U2",
        logged_by="U2",
        channel_id="C1",
        created_at=NOW,
        theme_id=theme.id or 0,
    )


def test_export_writes_a_json_array_and_reports_progress(engine: Engine) -> None:
    with session_scope(engine) as session:
        for number in range(3):
            pain.log_pain(session, TEAM, f"U{number}", "C1", f"complaint {number} ünïcode", NOW)
        pain.log_pain(session, Workspace("T0OTHER"), "U7", "C1", "elsewhere", NOW)
    out, seen = io.StringIO(), []
    written = pain.export_pain_points(
        engine, "json", out, lambda done, total: seen.append((done, total)), workspace=TEAM
    )
    rows = json.loads(out.getvalue())
    assert written == 3 and seen[-1] == (3, 3)
    assert [row["text"] for row in rows] == [f"complaint {n} ünïcode" for n in range(3)]
    assert rows[0]["people"] == ["U0"] and rows[0]["created_at"] == NOW.isoformat()
    empty = io.StringIO()
    assert pain.export_pain_points(engine, "json", empty, workspace=Workspace("T0NONE")) == 0
    assert json.loads(empty.getvalue()) == []
    with pytest.raises(ValueError, match="unknown export format"):
        pain.export_pain_points(engine, "xml", io.StringIO())
