"""The planning rules alone: chance of any approach, the simulation, recalibration, parsing."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import milestones
from bot.milestones.calibration import Bucket, adjusted_confidence
from bot.milestones.forecast import simulate


def test_the_chance_of_any_approach_assumes_independence() -> None:
    assert milestones.chance_of_any([40, 50]) == 70
    assert milestones.chance_of_any([30]) == 30
    assert milestones.chance_of_any([0, 0]) == 0
    assert milestones.chance_of_any([100, 10]) == 100


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100), st.booleans(), st.booleans()), min_size=1, max_size=12),
    st.integers(0, 2**32 - 1),
)
def test_the_simulation_agrees_with_the_arithmetic(
    plan: list[tuple[int, bool, bool]], seed: int
) -> None:
    chances = [p / 100 for p, _, _ in plan]
    in_time = [late is False for _, late, _ in plan]
    required = [needed for _, _, needed in plan]
    runs = 20_000
    outcome = simulate(chances, in_time, required, seed, runs)
    landing = [p if ok else 0.0 for p, ok in zip(chances, in_time, strict=True)]
    expected = sum(landing)
    all_required = math.prod(p for p, needed in zip(landing, required, strict=True) if needed)
    spread = math.sqrt(sum(p * (1 - p) for p in landing) / runs)
    assert abs(outcome.expected - expected) <= 5 * spread + 1e-9
    assert abs(outcome.all_required - all_required) <= 5 * math.sqrt(0.25 / runs) + 1e-9
    assert outcome.at_least[0] == 1.0
    assert simulate(chances, in_time, required, seed, runs) == outcome


def test_recalibration_is_a_beta_posterior_centred_on_what_was_said() -> None:
    ten_at_80_half_landed = Bucket(80, 100, 10, 80.0, 5)
    assert adjusted_confidence(ten_at_80_half_landed, 80) == 59  # (5 + 3.2) / 14
    many = Bucket(80, 100, 1000, 80.0, 500)
    assert adjusted_confidence(many, 80) == 50  # history outweighs the prior
    assert adjusted_confidence(Bucket(0, 19, 1, 10.0, 1), 10) == 28  # (1 + 0.4) / 5


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("approach 2", milestones.ListApproaches(2)),
        (
            "approach 2 add distil the big model 40%",
            milestones.AddApproach(2, "distil the big model", 40),
        ),
        ("approach 2 add scrape tickets", milestones.AddApproach(2, "scrape tickets", 50)),
        ("approach #2 1 25%", milestones.SetApproachChance(2, 1, 25)),
        ("approach 2 drop 1", milestones.DropApproach(2, 1)),
        ("tried 2 focal loss -> worse", milestones.Tried(2, None, "focal loss", "worse")),
        ("tried 2 approach 1 mixup", milestones.Tried(2, 1, "mixup", "")),
        ("forecast", milestones.ShowForecast()),
        ("calibration chart", milestones.Calibration(chart=True)),
        ("vision date end of june", milestones.VisionDate("end of june")),
        ("edit 3 required yes", milestones.SetRequired(3, True)),
        ("edit 3 confidence auto", milestones.DeriveConfidence(3)),
    ],
)
def test_planning_commands_are_read(text: str, command: milestones.Command) -> None:
    assert milestones.parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("approach two", "Give the milestone's number"),
        ("approach 2 frobnicate", "Say what to do with the approaches"),
        ("approach 2 1 140%", "Confidence is a percentage from 0 to 100"),
        ("tried 2", "Say what was tried"),
        ("tried 2 approach x mixup", "/milestone tried 2 approach 1"),
        ("forecast now", "`/milestone forecast` takes nothing"),
    ],
)
def test_unreadable_planning_commands_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(milestones.UsageError, match=says.replace("(", r"\(")):
        milestones.parse_command(text)
