"""Target dates as people type them, read in the team's timezone and always ahead."""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from bot.milestones import MilestoneError, resolve_target
from bot.milestones.dates import TargetDateError, parse_target
from storage.milestones import MilestoneBoard

TODAY = date(2027, 1, 31)  # a Sunday, the last day of a 31-day month


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-01", date(2027, 3, 1)),
        ("2027-3-1", date(2027, 3, 1)),
        ("end of march", date(2027, 3, 31)),
        ("End of March", date(2027, 3, 31)),
        ("march", date(2027, 3, 31)),
        ("end of feb 2028", date(2028, 2, 29)),
        ("march 15", date(2027, 3, 15)),
        ("15th march 2028", date(2028, 3, 15)),
        ("sept 3, 2027", date(2027, 9, 3)),
        ("in 10 weeks", date(2027, 4, 11)),
        ("in 3 days", date(2027, 2, 3)),
        ("in 1 month", date(2027, 2, 28)),
        ("in a year", date(2028, 1, 31)),
        ("Q2", date(2027, 6, 30)),
        ("end of q3", date(2027, 9, 30)),
        ("Q4 2028", date(2028, 12, 31)),
        ("end of year", date(2027, 12, 31)),
    ],
)
def test_reads_the_forms_people_type(text: str, expected: date) -> None:
    assert parse_target(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("end of january", date(2028, 1, 31)),  # today is the end of January: the next one
        ("january 10", date(2028, 1, 10)),
        ("Q1", date(2027, 3, 31)),  # the quarter we are in ends ahead
        ("10 jan", date(2028, 1, 10)),
    ],
)
def test_a_date_without_a_year_means_the_next_one_ahead(text: str, expected: date) -> None:
    assert parse_target(text, TODAY) == expected


def test_end_of_february_rolls_into_a_leap_year() -> None:
    assert parse_target("end of february", date(2027, 3, 5)) == date(2028, 2, 29)


def test_a_quarter_already_over_means_next_years() -> None:
    assert parse_target("Q1", date(2027, 5, 10)) == date(2028, 3, 31)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-12-01", "not in the future"),
        ("2027-01-31", "not in the future"),
        ("end of jan 2027", "not in the future"),
        ("in 0 days", "not in the future"),
        ("someday", "`2027-03-01`"),
        ("2027-02-30", "`in 10 weeks`"),
        ("Q5", "`Q2 2027`"),
        ("", "Give a target date"),
        ("in 900 months", "more than 10 years"),
    ],
)
def test_refuses_what_is_unreadable_or_not_ahead_with_an_example(text: str, says: str) -> None:
    with pytest.raises(TargetDateError) as error:
        parse_target(text, TODAY)
    assert says in str(error.value)


def _board(timezone: str) -> MilestoneBoard:
    return MilestoneBoard(
        team_id="T", channel_id="C", timezone=timezone, created_at=datetime.now(UTC)
    )


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        # 23:30 UTC on 30 March: still the 30th in New York, already the 31st in Berlin and Kolkata.
        ("America/New_York", date(2027, 3, 31)),
        ("Europe/Berlin", date(2028, 3, 31)),
        ("Asia/Kolkata", date(2028, 3, 31)),
    ],
)
def test_today_is_the_teams_local_date(timezone: str, expected: date) -> None:
    with freeze_time("2027-03-30 23:30:00"):
        now = datetime.now(UTC)
        assert resolve_target(_board(timezone), "end of march", now) == expected


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("Pacific/Honolulu", date(2027, 3, 16)),  # still 5 January there
        ("Asia/Kolkata", date(2027, 3, 17)),  # already 6 January there
    ],
)
def test_relative_dates_count_from_the_teams_today(timezone: str, expected: date) -> None:
    with freeze_time("2027-01-05 23:00:00"):
        assert resolve_target(_board(timezone), "in 10 weeks", datetime.now(UTC)) == expected


def test_the_domain_turns_a_bad_date_into_a_refusal() -> None:
    with freeze_time("2027-01-05 12:00:00"), pytest.raises(MilestoneError) as refusal:
        resolve_target(_board("Europe/Berlin"), "yesterday-ish", datetime.now(UTC))
    assert "end of march" in refusal.value.message
