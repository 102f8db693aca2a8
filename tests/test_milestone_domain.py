"""Milestone rules without Slack: commands, Brier score and calibration, the revisit schedule."""

from datetime import UTC, date, datetime

import pytest

from bot import milestones
from bot.milestones import (
    Add,
    Drop,
    MoveTarget,
    Rename,
    SetConfidence,
    UsageError,
    next_revisit,
    parse_command,
    sparkline,
    target_status,
)
from bot.milestones.calibration import Forecast, brier_score, calibration_table
from storage.milestones import DEFAULT_CONFIDENCE, Milestone, MilestoneBoard


def test_add_reads_title_target_and_confidence() -> None:
    assert parse_command("add Eval harness runs nightly target end of march confidence 70%") == Add(
        "Eval harness runs nightly", "end of march", 70
    )


def test_a_bare_percentage_after_the_date_is_the_confidence() -> None:
    assert parse_command("add Ship v2 target 2027-03-15 70%") == Add("Ship v2", "2027-03-15", 70)
    assert parse_command("edit 1 target end of june 60% because the data slipped") == MoveTarget(
        1, "end of june", 60, "the data slipped"
    )


def test_add_takes_the_last_target_word_so_titles_may_say_target() -> None:
    assert parse_command("add Hit the target metric target Q2") == Add(
        "Hit the target metric", "Q2", DEFAULT_CONFIDENCE
    )


def test_broadcasts_in_a_title_become_inert_words() -> None:
    command = parse_command("add Ship <!channel> demo target Q3")
    assert command == Add("Ship @channel demo", "Q3", 50)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("edit 2 title Nightly evals", Rename(2, "Nightly evals")),
        ("edit #2 confidence 35%", SetConfidence(2, 35)),
        (
            "edit 2 target in 6 weeks confidence 40% because labelling took longer",
            MoveTarget(2, "in 6 weeks", 40, "labelling took longer"),
        ),
        ("edit 2 target 2027-06-01", MoveTarget(2, "2027-06-01", None, "")),
        ("drop 3 the direction changed", Drop(3, "the direction changed")),
    ],
)
def test_reads_changes_to_a_milestone(text: str, expected: milestones.Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("add Just a title", "target"),
        ("add Eval target Q2 confidence 140%", "0 to 100"),
        ("show two", "/milestone show 2"),
        ("edit 2 colour blue", "/milestone edit 2 target"),
        ("cadence 0", "1 to 52"),
        ("checkins 40", "1 to 26"),
        ("launch", "don't know"),
    ],
)
def test_unreadable_commands_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_command(text)
    assert says in str(error.value)


def test_brier_score_is_the_mean_squared_gap() -> None:
    forecasts = [Forecast(70, True), Forecast(30, False), Forecast(90, False)]
    assert brier_score(forecasts) == pytest.approx((0.09 + 0.09 + 0.81) / 3)
    assert brier_score([Forecast(50, True), Forecast(50, False)]) == pytest.approx(0.25)
    assert brier_score([Forecast(100, True), Forecast(0, False)]) == 0


def test_calibration_table_groups_by_confidence_range() -> None:
    forecasts = [Forecast(70, True), Forecast(75, False), Forecast(65, True), Forecast(10, False)]
    table = calibration_table(forecasts)
    assert [(b.low, b.high, b.count, b.achieved) for b in table] == [(0, 19, 1, 0), (60, 79, 3, 2)]
    assert table[1].mean_confidence == pytest.approx(70)
    assert table[1].achieved_rate == pytest.approx(2 / 3)


def test_sparkline_draws_the_confidence_trail() -> None:
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([30, 30, 90]) == "▃▃▇"


def _board(timezone: str, cadence: int = 13) -> MilestoneBoard:
    return MilestoneBoard(
        team_id="T",
        channel_id="C",
        timezone=timezone,
        cadence_weeks=cadence,
        created_at=datetime(2027, 1, 4, tzinfo=UTC),
    )


def _milestone(target: date, anchor: datetime) -> Milestone:
    return Milestone(
        board_id=1,
        number=1,
        title="Eval",
        target=target,
        created_by="U",
        created_at=anchor,
        revisit_anchor=anchor,
    )


@pytest.mark.parametrize(
    ("timezone", "expected_utc"),
    [
        ("Europe/Berlin", datetime(2027, 4, 5, 8, 0, tzinfo=UTC)),  # CET in January, CEST in April
        ("America/New_York", datetime(2027, 4, 5, 14, 0, tzinfo=UTC)),  # EST → EDT
        ("Asia/Kolkata", datetime(2027, 4, 5, 4, 30, tzinfo=UTC)),  # no daylight saving
    ],
)
def test_revisit_comes_13_weeks_later_at_10_local_across_daylight_saving(
    timezone: str, expected_utc: datetime
) -> None:
    anchor = datetime(2027, 1, 4, 16, 0, tzinfo=UTC)
    due, why = next_revisit(_board(timezone), _milestone(date(2027, 12, 1), anchor))
    assert (due, why) == (expected_utc, "cadence")


def test_a_target_before_the_next_cadence_revisit_comes_first() -> None:
    anchor = datetime(2027, 1, 4, 16, 0, tzinfo=UTC)
    due, why = next_revisit(_board("Europe/Berlin"), _milestone(date(2027, 2, 15), anchor))
    assert (due, why) == (datetime(2027, 2, 15, 9, 0, tzinfo=UTC), "target")


def test_a_passed_target_reads_as_time_to_revisit_never_as_late() -> None:
    milestone = _milestone(date(2027, 2, 15), datetime(2027, 1, 4, tzinfo=UTC))
    assert target_status(milestone, date(2027, 2, 16)) == (
        "target passed — time to revisit (target was Mon 15 Feb 2027)"
    )
    assert "in 6 weeks" in target_status(milestone, date(2027, 1, 4))
