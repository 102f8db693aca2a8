"""Maker time rules: windows in a team's timezone, reading times, checks, slots, deferral."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import Engine

from bot import maker
from bot.maker import (
    CheckCommand,
    MakerError,
    SetCommand,
    Slots,
    Span,
    TeamSchedule,
    UsageError,
    apply_change,
    check_meeting,
    defer_until,
    free_slots,
    parse_command,
    resolve_when,
    save_schedule,
)
from storage.base import Workspace
from storage.db import session_scope

BERLIN, NEW_YORK, KOLKATA = "Europe/Berlin", "America/New_York", "Asia/Kolkata"
WS = Workspace("T0TEAM")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- reading times in the caller's timezone ----------------------------------------------------


@pytest.mark.parametrize(
    ("words", "timezone", "expected"),
    [
        # Tuesday 1 December 2026, 09:00 UTC.
        (("tomorrow", "14:00"), BERLIN, utc(2026, 12, 2, 13, 0)),
        (("tomorrow", "14:00"), NEW_YORK, utc(2026, 12, 2, 19, 0)),
        (("fri", "9:15"), KOLKATA, utc(2026, 12, 4, 3, 45)),
        (("2026-12-02", "15:00"), BERLIN, utc(2026, 12, 2, 14, 0)),
        (("2026-12-02t15:00",), NEW_YORK, utc(2026, 12, 2, 20, 0)),
        (("tue", "10:30"), BERLIN, utc(2026, 12, 1, 9, 30)),  # later today
        (("tue", "9:30"), NEW_YORK, utc(2026, 12, 1, 14, 30)),  # 04:00 there: still ahead today
        (("tue", "08:00"), BERLIN, utc(2026, 12, 8, 7, 0)),  # already past: next Tuesday
        (("16:00",), BERLIN, utc(2026, 12, 1, 15, 0)),
        (("2pm",), KOLKATA, utc(2026, 12, 1, 8, 30) + timedelta(days=1)),  # 14:30 IST passed
        (("today", "9:15pm"), BERLIN, utc(2026, 12, 1, 20, 15)),
    ],
)
def test_times_are_read_in_the_callers_timezone(words, timezone, expected) -> None:
    with freeze_time("2026-12-01 09:00:00"):
        assert resolve_when(words, timezone, datetime.now(UTC)) == expected


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        (("9",), "morning or afternoon"),
        (("someday", "10:00"), "not a day I know"),
        (("2026-02-30", "10:00"), "not a date on the calendar"),
        (("2026-11-30", "10:00"), "in the past"),
        (("today", "08:00"), "in the past"),
        (("25:00",), "not a time"),
        (("next", "week", "tue"), "can't read"),
        (("2028-01-01", "10:00"), "more than a year away"),
    ],
)
def test_unclear_times_get_an_error_with_an_example(words, problem) -> None:
    with pytest.raises(UsageError) as error:
        resolve_when(words, BERLIN, utc(2026, 12, 1, 9, 0))
    assert problem in str(error.value)
    assert "for example" in str(error.value) or "within the next year" in str(error.value)


def test_a_time_the_clocks_skip_or_repeat_is_refused_with_a_reason() -> None:
    # Berlin springs forward on 28 March 2027 (02:00 → 03:00) and falls back on 25 Oct 2026.
    now = utc(2026, 10, 20, 9, 0)
    with pytest.raises(UsageError, match=r"does not exist .* clocks skip"):
        resolve_when(("2027-03-28", "02:30"), BERLIN, now)
    with pytest.raises(UsageError, match=r"happens twice .* clocks go back"):
        resolve_when(("2026-10-25", "02:30"), BERLIN, now)
    assert resolve_when(("2026-10-25", "03:30"), BERLIN, now) == utc(2026, 10, 25, 2, 30)


def test_check_reads_duration_attendees_and_mentions() -> None:
    assert parse_command("check tue 10:30 45m") == CheckCommand(
        ("tue", "10:30"), timedelta(minutes=45)
    )
    assert parse_command("check 2026-12-02 15:00 1h 8") == CheckCommand(
        ("2026-12-02", "15:00"), timedelta(hours=1), 8
    )
    assert parse_command("check fri 9:15 1h30m <@U0BOB|bob> <@U0CAROL>") == CheckCommand(
        ("fri", "9:15"), timedelta(minutes=90), 3
    )
    assert parse_command("slots 1.5h 3") == Slots(timedelta(minutes=90), 3)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("check", "Say when the meeting is"),
        ("check tue 10:30 9h", "from 5 minutes to 8 hours"),
        ("check tue 10:30 45m 1h", "one duration"),
        ("check 45m tue", "Put the time first"),
        ("slots 30", "1 to 14 days"),
        ("set windows 9-10", "not a range of 24-hour times"),
        ("set timezone Mars/Olympus", "IANA timezone"),
        ("set free sat", "not a workday"),
        ("set defer maybe", "defer on"),
        ("calendar ftp://example.com/cal.ics", "private iCal address"),
        ("party", "I don't know"),
    ],
)
def test_unreadable_commands_say_how_to_write_them(text, problem) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_command(text)


# --- the schedule: windows, maker time and its rules -------------------------------------------


def test_windows_keep_their_local_time_across_daylight_saving() -> None:
    team = TeamSchedule(BERLIN)
    before, _ = maker.spans_between(team, utc(2026, 10, 23), utc(2026, 10, 24))
    after, _ = maker.spans_between(team, utc(2026, 10, 26), utc(2026, 10, 27))
    assert [w.start for w in before] == [
        utc(2026, 10, 23, 7),
        utc(2026, 10, 23, 11),
        utc(2026, 10, 23, 14, 30),
    ]
    assert [w.start for w in after] == [
        utc(2026, 10, 26, 8),
        utc(2026, 10, 26, 12),
        utc(2026, 10, 26, 15, 30),
    ]


def test_meeting_free_days_and_weekends_have_no_windows() -> None:
    team = TeamSchedule(NEW_YORK, meeting_free=frozenset({2}))
    windows, maker_time = maker.spans_between(team, utc(2026, 12, 2, 5), utc(2026, 12, 3, 5))
    assert windows == []
    assert maker_time == [Span(utc(2026, 12, 2, 14), utc(2026, 12, 2, 22, 30))]  # 09:00–17:30
    assert maker.spans_between(team, utc(2026, 12, 5), utc(2026, 12, 7)) == ([], [])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (SetCommand(windows=((600, 660), (630, 700))), "overlap"),
        (SetCommand(windows=((600, 600),)), "empty"),
        (SetCommand(windows=((480, 540),)), "outside the working day"),
        (SetCommand(day=(600, 1020)), "outside a working day"),
        (SetCommand(meeting_free=frozenset(range(5))), "At least one workday"),
    ],
)
def test_bad_schedules_are_refused(change, problem) -> None:
    with pytest.raises(MakerError, match=problem):
        apply_change(TeamSchedule(BERLIN), change)


def test_a_schedule_change_is_saved_and_read_back(engine: Engine) -> None:
    now = utc(2026, 12, 1, 9)
    with session_scope(engine) as session:
        save_schedule(
            session, WS, "C1", SetCommand(windows=((540, 600), (960, 1020))), "U1", KOLKATA, now
        )
        save_schedule(session, WS, "C1", SetCommand(meeting_free=frozenset({4})), "U1", BERLIN, now)
    with session_scope(engine) as session:
        saved = maker.find_schedule(session, WS, "C1")
    assert saved == TeamSchedule(
        KOLKATA, windows=((540, 600), (960, 1020)), meeting_free=frozenset({4})
    )


# --- checking a meeting and finding slots ------------------------------------------------------


def test_a_meeting_in_maker_time_says_how_much_and_offers_the_nearest_slots() -> None:
    team = TeamSchedule(BERLIN)
    now = utc(2026, 12, 1, 8, 10)  # 09:10 in Berlin: the morning window is under way
    check = check_meeting(team, utc(2026, 12, 1, 9, 30), timedelta(minutes=45), 8, [], now)
    assert check.maker_time == timedelta(minutes=45)
    assert check.is_long and check.is_big
    # 10:30 Berlin: too little of the 09:00 window is left; 13:00, 16:30 and tomorrow 09:00.
    assert [slot.start for slot in check.slots] == [
        utc(2026, 12, 1, 12),
        utc(2026, 12, 1, 15, 30),
        utc(2026, 12, 2, 8),
    ]


def test_a_meeting_inside_a_window_costs_no_maker_time() -> None:
    team = TeamSchedule(NEW_YORK)
    check = check_meeting(
        team, utc(2026, 12, 1, 18), timedelta(minutes=30), 4, [], utc(2026, 12, 1, 7)
    )  # 13:00 in New York
    assert (check.maker_time, check.is_long, check.is_big, check.slots) == (
        timedelta(0),
        False,
        False,
        (),
    )


def test_slots_skip_busy_calendars_and_windows_too_short() -> None:
    team = TeamSchedule(KOLKATA)
    busy = [Span(utc(2026, 12, 1, 7, 30), utc(2026, 12, 1, 7, 50))]  # 13:00–13:20 in Kolkata
    slots = free_slots(team, utc(2026, 12, 1, 6), utc(2026, 12, 2), timedelta(minutes=30), busy)
    assert slots == [
        Span(utc(2026, 12, 1, 8), utc(2026, 12, 1, 8, 30)),  # 13:30, the quarter after it
        Span(utc(2026, 12, 1, 11), utc(2026, 12, 1, 11, 30)),  # 16:30
    ]
    assert free_slots(team, utc(2026, 12, 1, 6), utc(2026, 12, 2), timedelta(hours=2), []) == []


def test_slots_skip_meetings_that_overlap_nest_and_follow_each_other() -> None:
    team = TeamSchedule(KOLKATA)  # windows 09:00–09:45, 13:00–14:00, 16:30–17:30 in Kolkata
    busy = [
        Span(utc(2026, 12, 1, 7, 50), utc(2026, 12, 1, 8, 5)),  # 13:20–13:35, after the next
        Span(utc(2026, 12, 1, 7, 30), utc(2026, 12, 1, 7, 50)),  # 13:00–13:20, followed at once
        Span(utc(2026, 12, 1, 7, 55), utc(2026, 12, 1, 8)),  # 13:25–13:30, inside the first
        Span(utc(2026, 12, 1, 8, 20), utc(2026, 12, 1, 8, 20)),  # 13:50, no time at all
        Span(utc(2026, 12, 1, 11, 5), utc(2026, 12, 1, 11, 40)),  # 16:35–17:10
    ]
    slots = free_slots(team, utc(2026, 12, 1, 6), utc(2026, 12, 2), timedelta(minutes=15), busy)
    assert slots == [
        Span(utc(2026, 12, 1, 8, 15), utc(2026, 12, 1, 8, 30)),  # 13:45, the quarter after them
        Span(utc(2026, 12, 1, 11, 45), utc(2026, 12, 1, 12)),  # 17:15, the quarter after it
    ]


# --- the bot guards itself ---------------------------------------------------------------------


def set_up(engine: Engine, channel: str, timezone: str, change: SetCommand | None = None) -> None:
    with session_scope(engine) as session:
        save_schedule(
            session,
            WS,
            channel,
            change or SetCommand(timezone=timezone),
            "U1",
            timezone,
            utc(2026, 10, 1),
        )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 10, 23, 8, 0), utc(2026, 10, 23, 11, 0)),  # Fri 10:00 CEST → 13:00
        (utc(2026, 10, 23, 12, 0), utc(2026, 10, 23, 14, 30)),  # Fri 14:00 → 16:30
        (utc(2026, 10, 23, 7, 15), None),  # in the 09:00 window
        (utc(2026, 10, 23, 15, 45), None),  # after the working day
        (utc(2026, 10, 24, 10, 0), None),  # Saturday
    ],
)
def test_posts_due_in_maker_time_wait_for_the_next_window(engine, moment, expected) -> None:
    set_up(engine, "C1", BERLIN)
    with freeze_time(moment), session_scope(engine) as session:
        assert defer_until(session, WS, "C1", datetime.now(UTC)) == expected


def test_deferral_crosses_weekends_and_daylight_saving_in_several_timezones(engine) -> None:
    mornings_only = SetCommand(windows=((540, 585),))
    for channel, timezone in (("CBER", BERLIN), ("CNYC", NEW_YORK), ("CKOL", KOLKATA)):
        set_up(engine, channel, timezone)
        with session_scope(engine) as session:
            save_schedule(session, WS, channel, mornings_only, "U1", timezone, utc(2026, 10, 1))
    with session_scope(engine) as session:
        # Fri 23 Oct, 10:00 in Berlin (summer time) → Mon 26 Oct 09:00 in winter time.
        assert defer_until(session, WS, "CBER", utc(2026, 10, 23, 8)) == utc(2026, 10, 26, 8)
        # Fri 30 Oct, 10:00 in New York (daylight time) → Mon 2 Nov 09:00 EST.
        assert defer_until(session, WS, "CNYC", utc(2026, 10, 30, 14)) == utc(2026, 11, 2, 14)
        # Kolkata has no daylight saving: Mon 10:00 → Tue 09:00.
        assert defer_until(session, WS, "CKOL", utc(2026, 10, 26, 4, 30)) == utc(
            2026, 10, 27, 3, 30
        )


def test_no_deferral_when_turned_off_in_dms_or_without_a_schedule(engine) -> None:
    set_up(engine, "C1", BERLIN, SetCommand(defer_posts=False))
    maker_time = utc(2026, 10, 23, 8, 0)
    with session_scope(engine) as session:
        assert defer_until(session, WS, "C1", maker_time) is None
        assert defer_until(session, WS, "CNOSCHEDULE", maker_time) is None
        assert defer_until(session, WS, "D0ALICE", maker_time) is None
        assert defer_until(session, Workspace("T0OTHER"), "C1", maker_time) is None
