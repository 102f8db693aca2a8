"""Score how well confidences predicted outcomes: Brier scores, buckets, and a recalibration.

Recalibration, once a team has ended at least MIN_ENDED milestones: a stated confidence c falls in
one of five 20-point buckets, where n ended milestones were first given a confidence and s of them
were achieved. Its adjusted figure is the mean of a Beta posterior whose prior is centred on c
itself and worth PRIOR_WEIGHT milestones: (s + PRIOR_WEIGHT·c) / (n + PRIOR_WEIGHT). A few
outcomes move the figure a little, many move it a lot; an empty bucket leaves c as it is.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from sqlmodel import Session

from storage import milestones as store
from storage.milestones import MilestoneBoard


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
    def achieved(self) -> int:
        """Return how many of the ended milestones were achieved (the others were dropped)."""
        return sum(1 for forecast in self.first if forecast.achieved)

    @property
    def brier_first(self) -> float:
        """Return the Brier score of the confidences given when milestones were set."""
        return brier_score(self.first)

    @property
    def brier_last(self) -> float:
        """Return the Brier score of the last confidences before milestones ended."""
        return brier_score(self.last)

    @cached_property
    def buckets(self) -> tuple[Bucket, ...]:
        """Return the calibration table over the first confidences, in ranges of 20 points."""
        return calibration_table(self.first)


BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))
MIN_ENDED = 8
PRIOR_WEIGHT = 4


@dataclass(frozen=True)
class Meaning:
    """What the team's history says a stated confidence tends to mean."""

    stated: int
    bucket: Bucket
    adjusted: int

    def describe(self) -> str:
        """Say it plainly: "you say 80%, your 80–100% have landed 50% of the time (5 of 10)"."""
        bucket = self.bucket
        return (
            f"you say {self.stated}%, your {bucket.low}–{bucket.high}% have landed "
            f"{bucket.achieved_rate:.0%} of the time ({bucket.achieved} of {bucket.count}); "
            f"adjusted: {self.adjusted}%"
        )


def meaning(report: CalibrationReport, stated: int) -> Meaning | None:
    """Return what a stated confidence means by the team's history; None without enough of it."""
    if report.count < MIN_ENDED:
        return None
    for bucket in report.buckets:
        if bucket.low <= stated <= bucket.high:
            return Meaning(stated, bucket, adjusted_confidence(bucket, stated))
    return None


def adjusted_confidence(bucket: Bucket, stated: int) -> int:
    """Return the Beta-posterior mean with a prior centred on the stated confidence."""
    return round(
        100 * (bucket.achieved + PRIOR_WEIGHT * stated / 100) / (bucket.count + PRIOR_WEIGHT)
    )


def recalibrated(report: CalibrationReport, stated: int) -> int:
    """Return the adjusted figure for a stated confidence (as stated without enough history)."""
    found = meaning(report, stated)
    return found.adjusted if found else stated


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
    outcomes = store.ended_outcomes(session, board.id)
    return CalibrationReport(
        tuple(Forecast(first, achieved) for achieved, first, _ in outcomes),
        tuple(Forecast(last, achieved) for achieved, _, last in outcomes),
    )
