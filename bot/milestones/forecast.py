"""A Monte Carlo forecast of the vision: how many open milestones land by the vision's date.

The model, kept simple on purpose:
- each open milestone works out with its current confidence, independently of the others;
- one whose target date falls after the vision's date counts as not landing by then (no slip is
  modelled: move its target, or the vision's date, and the forecast follows);
- the vision's date is the one the team set (`/milestone vision date <date>`), otherwise the
  latest target among the open milestones.
Each run draws every milestone once; RUNS runs give the expected count and the chance that every
required milestone lands (every open milestone counts as required while none is marked). The
generator is seeded from the plan itself, so the same plan always gives the same figures.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session

from bot.milestones.calibration import calibration, recalibrated
from storage import milestones as store
from storage.milestones import OPEN, Milestone, MilestoneBoard

RUNS = 20_000


@dataclass(frozen=True)
class PlannedMilestone:
    """An open milestone as the forecast sees it."""

    number: int
    title: str
    chance: int
    target: date
    required: bool


@dataclass(frozen=True)
class Outcome:
    """What the runs say: the expected count landing and the chance all required ones land."""

    expected: float
    all_required: float
    at_least: tuple[float, ...]  # at_least[k]: the share of runs where k or more land


@dataclass(frozen=True)
class VisionForecast:
    """The forecast of one board's plan, as stated and, with enough history, recalibrated."""

    vision_date: date
    vision_date_set: bool
    plan: tuple[PlannedMilestone, ...]
    required_marked: bool
    stated: Outcome
    adjusted: Outcome | None
    runs: int

    @property
    def late(self) -> tuple[PlannedMilestone, ...]:
        """Return the milestones whose target falls after the vision's date."""
        return tuple(item for item in self.plan if item.target > self.vision_date)

    @property
    def figure(self) -> int:
        """Return the headline: the chance (in %) that every required milestone lands."""
        return round(self.stated.all_required * 100)


def simulate(
    chances: Sequence[float],
    in_time: Sequence[bool],
    required: Sequence[bool],
    seed: int,
    runs: int,
) -> Outcome:
    """Draw every milestone in each of `runs` runs; return the expected count and chances."""
    probability = np.asarray(chances, dtype=float) * np.asarray(in_time, dtype=bool)
    rng = np.random.default_rng(seed)
    landed = rng.random((runs, len(probability))) < probability
    counts = landed.sum(axis=1)
    mask = np.asarray(required, dtype=bool)
    all_required = landed[:, mask].all(axis=1).mean() if mask.any() else 1.0
    at_least = tuple(float((counts >= k).mean()) for k in range(len(probability) + 1))
    return Outcome(float(counts.mean()), float(all_required), at_least)


def forecast(session: Session, board: MilestoneBoard, *, runs: int = RUNS) -> VisionForecast | None:
    """Forecast the board's open milestones against the vision's date; None without any."""
    assert board.id is not None
    open_ones = store.milestones_of(session, board.id, states=(OPEN,))
    if not open_ones:
        return None
    plan = tuple(_planned(milestone) for milestone in open_ones)
    vision_date = board.vision_date or max(item.target for item in plan)
    in_time = [item.target <= vision_date for item in plan]
    marked = any(item.required for item in plan)
    required = [item.required or not marked for item in plan]
    seed = plan_seed(board.id, plan, vision_date)
    stated = simulate([item.chance / 100 for item in plan], in_time, required, seed, runs)
    report = calibration(session, board)
    adjusted_chances = [recalibrated(report, item.chance) / 100 for item in plan]
    adjusted = None
    if adjusted_chances != [item.chance / 100 for item in plan]:
        adjusted = simulate(adjusted_chances, in_time, required, seed, runs)
    return VisionForecast(
        vision_date, board.vision_date is not None, plan, marked, stated, adjusted, runs
    )


def plan_seed(board_id: int, plan: Sequence[PlannedMilestone], vision_date: date) -> int:
    """Return a seed that depends only on the plan, so an unchanged plan forecasts the same."""
    key = repr(
        (
            board_id,
            vision_date.isoformat(),
            [(p.number, p.chance, p.target.isoformat(), p.required) for p in plan],
        )
    )
    return zlib.crc32(key.encode())


def _planned(milestone: Milestone) -> PlannedMilestone:
    return PlannedMilestone(
        milestone.number,
        milestone.title,
        milestone.confidence,
        milestone.target,
        milestone.required,
    )
