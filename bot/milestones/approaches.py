"""Several approaches to one milestone, each with its own chance, and what was tried against it.

The milestone's chance is that at least one approach works, the approaches taken as independent:
1 − Π(1 − pᵢ). A team that sets the milestone's confidence directly keeps that figure until it
asks to derive it from the approaches again.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.milestones.board import MilestoneError, change_confidence, record
from storage import milestones as store
from storage.milestones import DROPPED, OPEN, Milestone, MilestoneApproach, MilestoneTried


def chance_of_any(chances: Sequence[int]) -> int:
    """Return the chance (in %) that at least one of independent approaches works."""
    fails = 1.0
    for chance in chances:
        fails *= 1 - chance / 100
    return round((1 - fails) * 100)


def add_approach(
    session: Session, milestone: Milestone, actor: str, text: str, chance: int, now: datetime
) -> MilestoneApproach:
    """Add an approach to a milestone; the milestone's derived chance follows."""
    assert milestone.id is not None
    approach = MilestoneApproach(
        milestone_id=milestone.id,
        number=store.next_approach_number(session, milestone.id),
        text=text,
        chance=chance,
        created_by=actor,
        created_at=now,
    )
    session.add(approach)
    session.flush()
    summary = f"added approach {approach.number} “{text}” at {chance}%"
    record(session, milestone, "approach_added", actor, now, after=summary)
    _derive(session, milestone, actor, now)
    return approach


def drop_approach(
    session: Session, milestone: Milestone, actor: str, number: int, now: datetime
) -> MilestoneApproach:
    """Drop an approach; it stays in the history, and the milestone's derived chance follows."""
    approach = _open_approach(session, milestone, number)
    approach.state = DROPPED
    session.add(approach)
    summary = f"dropped approach {number} “{approach.text}” (it was at {approach.chance}%)"
    record(session, milestone, "approach_dropped", actor, now, after=summary)
    _derive(session, milestone, actor, now)
    return approach


def set_approach_chance(
    session: Session, milestone: Milestone, actor: str, number: int, chance: int, now: datetime
) -> MilestoneApproach:
    """Change an approach's chance; the milestone's derived chance follows."""
    approach = _open_approach(session, milestone, number)
    if approach.chance == chance:
        raise MilestoneError(f"Approach {number} of #{milestone.number} is already at {chance}%.")
    before, approach.chance = approach.chance, chance
    session.add(approach)
    summary = f"changed approach {number} “{approach.text}” from {before}% to {chance}%"
    record(session, milestone, "approach_chance", actor, now, after=summary)
    _derive(session, milestone, actor, now)
    return approach


def derive_from_approaches(
    session: Session, milestone: Milestone, actor: str, now: datetime
) -> None:
    """Let the approaches set the milestone's chance again, after it was set directly."""
    assert milestone.id is not None
    if not store.approaches_of(session, milestone.id):
        raise MilestoneError(
            f"#{milestone.number} has no approaches to derive its chance from. Add one with "
            f"`/milestone approach {milestone.number} add <text> <p>%`."
        )
    milestone.confidence_direct = False
    session.add(milestone)
    _derive(session, milestone, actor, now)


def approaches(session: Session, milestone: Milestone) -> list[MilestoneApproach]:
    """Return a milestone's open approaches, by number."""
    assert milestone.id is not None
    return store.approaches_of(session, milestone.id)


def record_tried(
    session: Session,
    milestone: Milestone,
    actor: str,
    what: str,
    outcome: str,
    approach_number: int | None,
    now: datetime,
) -> MilestoneTried:
    """Log an experiment or idea tried against a milestone, or one of its approaches."""
    assert milestone.id is not None
    if approach_number is not None:
        _open_approach(session, milestone, approach_number)
    tried = MilestoneTried(
        milestone_id=milestone.id,
        approach_number=approach_number,
        what=what,
        outcome=outcome,
        actor_id=actor,
        at=now,
    )
    session.add(tried)
    return tried


def describe_tried(tried: MilestoneTried) -> str:
    """Say what was tried, against which approach, and what came of it."""
    approach = f" (approach {tried.approach_number})" if tried.approach_number else ""
    outcome = f" → {tried.outcome}" if tried.outcome else ""
    return f"{tried.what}{approach}{outcome}"


def _open_approach(session: Session, milestone: Milestone, number: int) -> MilestoneApproach:
    assert milestone.id is not None
    approach = store.approach_by_number(session, milestone.id, number)
    if approach is None or approach.state != OPEN:
        raise MilestoneError(
            f"#{milestone.number} has no open approach {number}. "
            f"`/milestone approach {milestone.number}` lists them."
        )
    return approach


def _derive(session: Session, milestone: Milestone, actor: str, now: datetime) -> None:
    assert milestone.id is not None
    chances = [a.chance for a in store.approaches_of(session, milestone.id)]
    if milestone.confidence_direct or not chances:
        return
    derived = chance_of_any(chances)
    if derived != milestone.confidence:
        change_confidence(session, milestone, actor, derived, now, direct=False)
