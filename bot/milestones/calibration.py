"""Score how well confidences predicted outcomes: Brier scores and confidence buckets."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from bot.milestones.board import confidence_trail
from storage import milestones as store
from storage.milestones import ACHIEVED, DROPPED, MilestoneBoard


@dataclass(frozen=True)
class Forecast:
    """A confidence given to a milestone, and whether the milestone was achieved."""

    confidence: int
    achieved: bool


@dataclass(frozen=True)
class Bucket:
    """Ended milestones whose confidence fell in a range, and how many were achieved."""

    low: int
    high: int
    count: int
    mean_confidence: float
    achieved: int

    @property
    def achieved_rate(self) -> float:
        """Return the share achieved (0 to 1)."""
        return self.achieved / self.count if self.count else 0.0


@dataclass(frozen=True)
class CalibrationReport:
    """How well the confidences given when milestones were set predicted their outcomes."""

    first: tuple[Forecast, ...]
    last: tuple[Forecast, ...]

    @property
    def count(self) -> int:
        """Return how many ended milestones are scored."""
        return len(self.first)

    @property
    def brier_first(self) -> float:
        """Return the Brier score of the confidences given when milestones were set."""
        return brier_score(self.first)

    @property
    def brier_last(self) -> float:
        """Return the Brier score of the last confidences before milestones ended."""
        return brier_score(self.last)

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """Return the calibration table over the first confidences, in ranges of 20 points."""
        return calibration_table(self.first)


BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))


def brier_score(forecasts: Sequence[Forecast]) -> float:
    """Return the mean squared gap between confidence and outcome (0 is perfect, 0.25 is 50/50)."""
    if not forecasts:
        return 0.0
    gaps = [(f.confidence / 100 - (1.0 if f.achieved else 0.0)) ** 2 for f in forecasts]
    return sum(gaps) / len(gaps)


def calibration_table(forecasts: Sequence[Forecast]) -> tuple[Bucket, ...]:
    """Group forecasts by confidence range: how many, how confident, how many achieved."""
    table = []
    for low, high in BUCKETS:
        inside = [f for f in forecasts if low <= f.confidence <= high]
        if inside:
            table.append(
                Bucket(
                    low,
                    high,
                    len(inside),
                    sum(f.confidence for f in inside) / len(inside),
                    sum(1 for f in inside if f.achieved),
                )
            )
    return tuple(table)


def calibration(session: Session, board: MilestoneBoard) -> CalibrationReport:
    """Score the board's ended milestones: first and last confidence against the outcome."""
    assert board.id is not None
    first, last = [], []
    for milestone in store.milestones_of(session, board.id, states=(ACHIEVED, DROPPED)):
        assert milestone.id is not None
        trail = confidence_trail(store.events_of(session, milestone.id))
        achieved = milestone.state == ACHIEVED
        first.append(Forecast(trail[0] if trail else milestone.confidence, achieved))
        last.append(Forecast(milestone.confidence, achieved))
    return CalibrationReport(tuple(first), tuple(last))
