"""The focus list's rules, tested directly on the domain."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import focus
from bot.common.caller import Caller
from bot.focus import FocusError, UsageError
from storage.base import Workspace
from storage.db import session_scope
from storage.schedule import ScheduledPost

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
CALLER = Caller(Workspace("T1"), "U1", "C1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", focus.ShowList()),
        ("list", focus.ShowList()),
        ("  LIST  ", focus.ShowList()),
        ("add Ship the eval harness", focus.Add("Ship the eval harness", ())),
        ("add Ship it <@U2|sam> <@U3>", focus.Add("Ship it", ("U2", "U3"))),
        ("done 2", focus.Finish(2)),
        ("drop 1 superseded by <#C9|infra>", focus.Drop(1, "superseded by #infra")),
        ("drop 1", focus.Drop(1, "")),
        ("edit 3 New words", focus.Edit(3, "New words", ())),
        ("move 3 1", focus.Move(3, 1)),
        ("owner 2 <@U2|sam> <@U3|kim>", focus.SetOwners(2, ("U2", "U3"))),
        ("limit", focus.Limit(None)),
        ("limit 5", focus.Limit(5)),
        ("history", focus.History(4)),
        ("history 8", focus.History(8)),
        ("share", focus.Share()),
        ("checkin", focus.Checkin()),
        ("checkin off", focus.Checkin(off=True)),
        ("checkin tue 14:05", focus.Checkin(weekday=1, minute=14 * 60 + 5)),
        (
            "checkin Friday 09:00 Asia/Kolkata",
            focus.Checkin(weekday=4, minute=540, timezone="Asia/Kolkata"),
        ),
        ("stall 3", focus.Stall(3)),
        ("help", focus.Help()),
    ],
)
def test_commands_are_read_as_typed(text: str, expected: focus.Command) -> None:
    assert focus.parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("frobnicate", "I don't know `/focus frobnicate`"),
        ("add", "Say what the item is"),
        ("add <@U2|sam>", "Say what the item is"),
        ("add " + "x" * 281, "at most 280 characters"),
        ("done", "Give a number"),
        ("done two", "Give a number"),
        ("done -1", "Give a number"),
        ("done 2 3", "only the item number"),
        ("move 2", "Give a number"),
        ("owner 2", "Mention the new owners"),
        ("owner 2 <@U2> and friends", "Mention the new owners"),
        ("limit 0", "between 1 and 7"),
        ("limit 8", "between 1 and 7"),
        ("history 0", "Weeks go from 1 to 52"),
        ("history 53", "Weeks go from 1 to 52"),
        ("checkin someday 09:30", "is not a weekday"),
        ("checkin mon 25:00", "is not a 24-hour time"),
        ("checkin mon 9am", "is not a 24-hour time"),
        ("checkin mon 09:30 Mars/Olympus", "is not a timezone"),
        ("share now", "takes nothing after it"),
    ],
)
def test_bad_input_is_explained(text: str, hint: str) -> None:
    with pytest.raises(UsageError, match=hint.replace("(", r"\(").replace("`", ".")):
        focus.parse_command(text)


@given(st.text(max_size=2000))
def test_any_text_is_either_a_command_or_a_usage_error(text: str) -> None:
    try:
        command = focus.parse_command(text)
    except UsageError as error:
        assert str(error)
    else:
        if isinstance(command, focus.Add | focus.Edit):
            assert 0 < len(command.text) <= focus.MAX_ITEM_LENGTH
            assert "<!" not in command.text


def test_broadcasts_and_links_become_plain_words() -> None:
    command = focus.parse_command(
        "add <!here> ping <!subteam^S1|@ml-infra> see <https://x.io/a|doc> &amp; more"
    )
    assert command == focus.Add("@here ping @ml-infra see doc (https://x.io/a) & more", ())


def _new_list(session, caller: Caller = CALLER, timezone: str = "Europe/Berlin"):
    return focus.ensure_list(session, caller, timezone, NOW)


def _texts(session, focus_list) -> list[str]:
    return [item.text for item in focus.view_of(session, focus_list, NOW).items]


def test_a_full_list_refuses_a_new_item_and_keeps_what_it_has(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        for text in ("a", "b", "c"):
            focus.add_item(session, focus_list, "U1", text, (), NOW)
    with pytest.raises(FocusError, match="full"), session_scope(engine) as session:
        focus.add_item(session, focus.find_list(session, CALLER), "U1", "d", (), NOW)
    with session_scope(engine) as session:
        assert _texts(session, focus.find_list(session, CALLER)) == ["a", "b", "c"]


def test_the_cap_cannot_drop_below_the_list_size(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.set_cap(session, focus_list, 5, "U1", NOW)
        for text in "abcd":
            focus.add_item(session, focus_list, "U1", text, (), NOW)
        with pytest.raises(FocusError, match="finish or drop 1 first"):
            focus.set_cap(session, focus_list, 3, "U1", NOW)
        focus.set_cap(session, focus_list, 4, "U1", NOW)
        assert focus_list.cap == 4


def test_finishing_and_dropping_close_the_gap_in_numbering(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        for text in ("a", "b", "c"):
            focus.add_item(session, focus_list, "U1", text, (), NOW)
        focus.finish(session, focus.item_at(session, focus_list, 1), "U1", NOW)
        assert _texts(session, focus_list) == ["b", "c"]
        focus.drop(session, focus.item_at(session, focus_list, 2), "U1", NOW, "no longer needed")
        assert _texts(session, focus_list) == ["b"]
        with pytest.raises(FocusError, match="There is no item 2: the list has one item"):
            focus.item_at(session, focus_list, 2)


def test_moving_an_item_shifts_the_others(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.set_cap(session, focus_list, 4, "U1", NOW)
        for text in "abcd":
            focus.add_item(session, focus_list, "U1", text, (), NOW)
        focus.move(session, focus.item_at(session, focus_list, 4), 1, "U1", NOW)
        assert _texts(session, focus_list) == ["d", "a", "b", "c"]
        focus.move(session, focus.item_at(session, focus_list, 1), 3, "U1", NOW)
        assert _texts(session, focus_list) == ["a", "b", "d", "c"]
        with pytest.raises(FocusError, match="Position 9 is not on the list"):
            focus.move(session, focus.item_at(session, focus_list, 1), 9, "U1", NOW)


def test_owners_default_to_the_person_who_adds(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.add_item(session, focus_list, "U1", "mine", (), NOW)
        focus.add_item(session, focus_list, "U1", "theirs", ("U2", "U3"), NOW)
        items = focus.view_of(session, focus_list, NOW).items
        assert [item.owners for item in items] == [("U1",), ("U2", "U3")]
        focus.set_owners(session, focus.item_at(session, focus_list, 1), ("U4",), "U1", NOW)
        assert focus.view_of(session, focus_list, NOW).items[0].owners == ("U4",)


def test_items_in_focus_too_long_are_stalled(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.add_item(session, focus_list, "U1", "old", (), NOW - timedelta(weeks=7))
        focus.add_item(session, focus_list, "U1", "new", (), NOW - timedelta(weeks=2))
        assert [item.text for item in focus.view_of(session, focus_list, NOW).stalled] == ["old"]
        focus.set_stall_weeks(session, focus_list, 1)
        assert len(focus.view_of(session, focus_list, NOW).stalled) == 2


def test_history_shows_what_happened_in_the_window(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.add_item(session, focus_list, "U1", "long ago", (), NOW - timedelta(weeks=6))
        focus.add_item(session, focus_list, "U2", "recent", (), NOW - timedelta(days=3))
        focus.finish(session, focus.item_at(session, focus_list, 1), "U2", NOW - timedelta(days=1))
        events = focus.history(session, focus_list, 4, NOW)
        assert [(e.kind, e.item_text, e.actor_id) for e in events] == [
            ("added", "recent", "U2"),
            ("done", "long ago", "U2"),
        ]


def test_lists_are_separate_per_conversation_and_workspace(engine: Engine) -> None:
    other_channel = Caller(Workspace("T1"), "U1", "C2")
    other_workspace = Caller(Workspace("T2"), "U1", "C1")
    with session_scope(engine) as session:
        for caller, text in (
            (CALLER, "here"),
            (other_channel, "there"),
            (other_workspace, "elsewhere"),
        ):
            focus.add_item(session, _new_list(session, caller), "U1", text, (), NOW)
        assert _texts(session, focus.find_list(session, CALLER)) == ["here"]
        assert _texts(session, focus.find_list(session, other_workspace)) == ["elsewhere"]
        lists = focus.lists_of_person(session, Workspace("T1"), "U1")
        assert [focus_list.channel_id for focus_list in lists] == ["C1", "C2"]
        item_elsewhere = focus.item_at(session, focus.find_list(session, other_workspace), 1)
        with pytest.raises(FocusError, match="no longer on any list here"):
            focus.open_item(session, Workspace("T1"), item_elsewhere.id)


def test_a_new_list_schedules_its_weekly_check_in_its_timezone(engine: Engine) -> None:
    with session_scope(engine) as session:
        _new_list(session, timezone="America/New_York")
    with session_scope(engine) as session:
        post = session.exec(select(ScheduledPost)).one()
        # Wednesday 18 Nov 2026 → Monday 23 Nov, 09:30 in New York (EST, UTC-5).
        assert post.due_at == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
        assert post.kind == focus.CHECKIN_KIND


def test_changing_the_check_in_replaces_the_pending_one(engine: Engine) -> None:
    with session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.set_checkin(session, focus_list, focus.Checkin(weekday=4, minute=16 * 60), NOW)
    with session_scope(engine) as session:
        pending = session.exec(select(ScheduledPost).where(ScheduledPost.state == "pending")).all()
        assert [post.due_at for post in pending] == [datetime(2026, 11, 20, 15, 0, tzinfo=UTC)]
        focus.set_checkin(session, focus.find_list(session, CALLER), focus.Checkin(off=True), NOW)
    with session_scope(engine) as session:
        assert not session.exec(select(ScheduledPost).where(ScheduledPost.state == "pending")).all()


@pytest.mark.parametrize(
    ("days", "words"),
    [(0, "today"), (1, "1 day"), (12, "12 days"), (55, "55 days"), (63, "9 weeks")],
)
def test_time_in_focus_reads_naturally(days: int, words: str) -> None:
    assert focus.in_focus_for(timedelta(days=days, hours=5)) == words


def test_a_refused_change_leaves_no_new_list_behind(engine: Engine) -> None:
    with pytest.raises(FocusError), session_scope(engine) as session:
        focus_list = _new_list(session)
        focus.item_at(session, focus_list, 1)  # refused: the new list is empty
    with session_scope(engine) as session:
        assert focus.find_list(session, CALLER) is None
        assert session.exec(select(ScheduledPost)).all() == []
