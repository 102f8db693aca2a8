"""The series behind the milestones' charts: confidence trails and the calibration curve."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.milestones.calibration import CalibrationReport, adjusted_confidence
from storage import milestones as store
from storage.milestones import OPEN, MilestoneBoard

MAX_TRAILS = 8


@dataclass(frozen=True)
class TrailSeries:
    """One open milestone's confidence over time, up to now."""

    label: str
    moments: tuple[datetime, ...]
    confidences: tuple[int, ...]


@dataclass(frozen=True)
class CalibrationPoint:
    """A confidence bucket: what was said on average, what happened, and the adjusted figure."""

    stated: float
    landed: float
    adjusted: float
    count: int


def trails(session: Session, board: MilestoneBoard, now: datetime) -> list[TrailSeries]:
    """Return the open milestones' confidence trails (soonest target first, at most 8)."""
    assert board.id is not None
    found = []
    for milestone in store.milestones_of(session, board.id, states=(OPEN,))[:MAX_TRAILS]:
        assert milestone.id is not None
        points = [
            (event.at, event.confidence)
            for event in store.events_of(session, milestone.id)
            if event.confidence is not None
        ]
        points.append((now, milestone.confidence))
        found.append(
            TrailSeries(
                f"#{milestone.number} {milestone.title[:40]}",
                tuple(moment for moment, _ in points),
                tuple(value for _, value in points),
            )
        )
    return found


def calibration_curve(report: CalibrationReport) -> list[CalibrationPoint]:
    """Return one point per confidence bucket that has ended milestones in it."""
    return [
        CalibrationPoint(
            bucket.mean_confidence,
            bucket.achieved_rate * 100,
            adjusted_confidence(bucket, round(bucket.mean_confidence)),
            bucket.count,
        )
        for bucket in report.buckets
    ]
