"""Milestones with target dates, not deadlines: a vision, confidences, revisits and calibration."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.common import outbox
from bot.common.caller import Caller
from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.common.mentions import plain_text
from bot.common.recurrence import local_moment, zone
from bot.milestones.dates import TargetDateError, parse_target
from storage import milestones as store
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.milestones import (
    ACHIEVED,
    DEFAULT_CONFIDENCE,
    DROPPED,
    OPEN,
    Milestone,
    MilestoneBoard,
    MilestoneEvent,
)
from storage.schedule import CANCELLED

REVISIT_KIND = "milestone.revisit"
CHECKIN_KIND = "milestone.checkin"
REVISIT_MINUTE = 10 * 60
REPEAT_AFTER = timedelta(weeks=1)
MAX_TITLE_LENGTH = 200
MAX_VISION_LENGTH = 1000
MAX_REASON_LENGTH = 500
MIN_WEEKS, MAX_CADENCE_WEEKS, MAX_CHECKIN_WEEKS = 1, 52, 26
CONFIDENCE_CHOICES = tuple(range(0, 101, 5))
SPARKS = "▁▂▃▄▅▆▇█"
PASSED = "target passed — time to revisit"

USAGE = """\
/milestone list — the vision and the open milestones (only to you)
/milestone vision [text] — show or set the team's vision, shown above the milestones
/milestone add <title> target <date> [confidence <p>%] — add a milestone (default 50%)
/milestone show <n> — milestone n's whole history, with its confidence trail
/milestone edit <n> title <text> — rename milestone n
/milestone edit <n> target <date> [because <reason>] — move milestone n's target
/milestone edit <n> confidence <p>% — change how likely milestone n is to work out
/milestone achieved <n> — milestone n is achieved
/milestone drop <n> [reason] — drop milestone n
/milestone cadence [weeks] — show or set how often milestones are revisited (default 13 weeks)
/milestone checkins [<weeks> | off] — optional confidence check-ins between revisits
/milestone calibration — how well the team's confidence predicted what happened
/milestone help — this text"""

DATE_HINT = (
    "Dates: `2027-03-01`, `end of march`, `march 15`, `in 10 weeks`, `in 3 months`, `Q2`, "
    "`Q2 2027`, `end of year` — read in the team's timezone, always ahead of today."
)


class UsageError(Exception):
    """The command could not be read; the message says how to write it."""


class MilestoneError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ShowList:
    """Show the vision and the open milestones."""


@dataclass(frozen=True)
class Vision:
    """Show the vision, or set it."""

    text: str | None


@dataclass(frozen=True)
class Add:
    """Add a milestone."""

    title: str
    target: str
    confidence: int


@dataclass(frozen=True)
class Show:
    """Show milestone n's history."""

    number: int


@dataclass(frozen=True)
class Rename:
    """Rename milestone n."""

    number: int
    title: str


@dataclass(frozen=True)
class MoveTarget:
    """Move milestone n's target, maybe with a new confidence and a reason."""

    number: int
    target: str
    confidence: int | None
    reason: str


@dataclass(frozen=True)
class SetConfidence:
    """Change milestone n's confidence."""

    number: int
    confidence: int


@dataclass(frozen=True)
class Achieve:
    """Mark milestone n achieved."""

    number: int


@dataclass(frozen=True)
class Drop:
    """Drop milestone n."""

    number: int
    reason: str


@dataclass(frozen=True)
class Cadence:
    """Show or set the revisit cadence."""

    weeks: int | None


@dataclass(frozen=True)
class Checkins:
    """Show, set or turn off the confidence check-ins."""

    weeks: int | None
    off: bool = False


@dataclass(frozen=True)
class Calibration:
    """Show how well confidences predicted outcomes."""


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


Command = (
    ShowList
    | Vision
    | Add
    | Show
    | Rename
    | MoveTarget
    | SetConfidence
    | Achieve
    | Drop
    | Cadence
    | Checkins
    | Calibration
    | Help
)

_ADD = re.compile(
    r"^(?P<title>.+)\s+target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+))?$",
    re.IGNORECASE | re.DOTALL,
)
_TARGET = re.compile(
    r"^target\s+(?P<date>.+?)(?:\s+confidence\s+(?P<p>\S+))?(?:\s+because\s+(?P<reason>.+))?$",
    re.IGNORECASE | re.DOTALL,
)


def parse_command(text: str) -> Command:
    """Read the text after `/milestone`; raise UsageError with an example when it cannot be read."""
    text = plain_text(text)
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "list"):
        return ShowList() if not rest else _usage(f"`/milestone {word}` takes nothing after it.")
    if word == "help":
        return Help()
    if word == "calibration":
        return Calibration() if not rest else _usage("`/milestone calibration` takes nothing.")
    if word == "vision":
        return Vision(_limited(rest, MAX_VISION_LENGTH, "the vision") if rest else None)
    if word == "add":
        return _parse_add(rest)
    if word in ("show", "achieved", "drop", "edit"):
        return _parse_milestone_command(word, rest)
    if word == "cadence":
        example = "/milestone cadence 13"
        return Cadence(_weeks(rest, MAX_CADENCE_WEEKS, example) if rest else None)
    if word == "checkins":
        if rest.lower() == "off":
            return Checkins(None, off=True)
        return Checkins(_weeks(rest, MAX_CHECKIN_WEEKS, "/milestone checkins 2") if rest else None)
    return _usage(f"I don't know `/milestone {_quote(word)}`.")


def _parse_add(rest: str) -> Add:
    example = "/milestone add Eval harness runs nightly target end of march confidence 70%"
    match = _ADD.match(rest)
    if match is None:
        return _usage(f"Give a title and a target date, for example `{example}`.")
    title = _limited(match["title"].strip(), MAX_TITLE_LENGTH, "a title")
    confidence = _confidence(match["p"], example) if match["p"] else DEFAULT_CONFIDENCE
    return Add(title, match["date"].strip(), confidence)


def _parse_milestone_command(word: str, rest: str) -> Command:
    number_text, _, tail = rest.partition(" ")
    tail = tail.strip()
    examples = {
        "show": "/milestone show 2",
        "achieved": "/milestone achieved 2",
        "drop": "/milestone drop 2 the direction changed",
        "edit": "/milestone edit 2 target in 6 weeks because labelling took longer",
    }
    number = _number(number_text.removeprefix("#"), examples[word])
    if word in ("show", "achieved"):
        return (
            _usage(f"`{examples[word]}` takes only the number.") if tail else _simple(word, number)
        )
    if word == "drop":
        return Drop(number, _limited(tail, MAX_REASON_LENGTH, "the reason"))
    return _parse_edit(number, tail)


def _simple(word: str, number: int) -> Command:
    return Show(number) if word == "show" else Achieve(number)


def _parse_edit(number: int, tail: str) -> Command:
    key, _, value = tail.partition(" ")
    value = value.strip()
    key = key.lower()
    if key == "title" and value:
        return Rename(number, _limited(value, MAX_TITLE_LENGTH, "a title"))
    if key == "confidence" and value:
        return SetConfidence(number, _confidence(value, f"/milestone edit {number} confidence 70%"))
    if key == "target" and (match := _TARGET.match(tail)):
        example = f"/milestone edit {number} target end of june confidence 60%"
        confidence = _confidence(match["p"], example) if match["p"] else None
        reason = _limited((match["reason"] or "").strip(), MAX_REASON_LENGTH, "the reason")
        return MoveTarget(number, match["date"].strip(), confidence, reason)
    return _usage(
        f"Say what to change, for example `/milestone edit {number} target in 6 weeks`, "
        f"`/milestone edit {number} confidence 70%` or `/milestone edit {number} title <text>`."
    )


def _confidence(raw: str, example: str) -> int:
    digits = raw.strip().removesuffix("%").strip()
    if not digits.isdecimal() or int(digits) > 100:
        _usage(f"Confidence is a percentage from 0 to 100, for example `{example}`.")
    return int(digits)


def _number(word: str, example: str) -> int:
    if not word.isdecimal() or len(word) > 6:
        _usage(f"Give the milestone's number, for example `{example}`.")
    return int(word)


def _weeks(raw: str, highest: int, example: str) -> int:
    if not raw.isdecimal() or not MIN_WEEKS <= int(raw) <= highest:
        _usage(f"Give a number of weeks from {MIN_WEEKS} to {highest}, for example `{example}`.")
    return int(raw)


def _limited(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        _usage(f"Keep {what} under {limit} characters (this one has {len(text):,}).")
    return text


def _quote(word: str) -> str:
    return word[:40].replace("`", "'")


def _usage(message: str) -> Any:
    raise UsageError(message)


def find_board(session: Session, caller: Caller) -> MilestoneBoard | None:
    """Return the caller's conversation's milestone board, if it has one."""
    return store.find_board(session, caller.workspace, caller.channel_id)


def ensure_board(session: Session, caller: Caller, timezone: str, now: datetime) -> MilestoneBoard:
    """Return the conversation's board, creating it in the caller's timezone on first use."""
    existing = find_board(session, caller)
    if existing is not None:
        return existing
    board = MilestoneBoard(
        enterprise_id=caller.workspace.enterprise_id,
        team_id=caller.workspace.team_id,
        channel_id=caller.channel_id,
        timezone=timezone,
        created_at=now,
    )
    board, _ = add_or_take_existing(session, board, lambda: find_board(session, caller))
    return board


def local_today(board: MilestoneBoard, now: datetime) -> date:
    """Return the team's local date at `now`."""
    return now.astimezone(zone(board.timezone)).date()


def resolve_target(board: MilestoneBoard, text: str, now: datetime) -> date:
    """Read a target date in the team's timezone; refuse one that is unreadable or not ahead."""
    return resolve_target_in(board.timezone, text, now)


def resolve_target_in(timezone: str, text: str, now: datetime) -> date:
    """Read a target date in a timezone; refuse one that is unreadable or not ahead."""
    try:
        return parse_target(text, now.astimezone(zone(timezone)).date())
    except TargetDateError as error:
        raise MilestoneError(str(error)) from error


def set_vision(
    session: Session, board: MilestoneBoard, actor: str, text: str, now: datetime
) -> None:
    """Set the team's vision."""
    board.vision, board.vision_set_by, board.vision_set_at = text, actor, now
    session.add(board)


def add(
    session: Session,
    board: MilestoneBoard,
    actor: str,
    title: str,
    target: date,
    confidence: int,
    now: datetime,
) -> Milestone:
    """Add a milestone and schedule its first revisit."""
    assert board.id is not None
    # Concurrent adds to one board take turns (a row lock on PostgreSQL) for the next number.
    session.flush()  # a refresh would otherwise drop changes not yet written
    session.refresh(board, with_for_update=True)
    milestone = Milestone(
        board_id=board.id,
        number=store.next_number(session, board.id),
        title=title,
        target=target,
        confidence=confidence,
        created_by=actor,
        created_at=now,
        revisit_anchor=now,
    )
    session.add(milestone)
    session.flush()
    _record(
        session, milestone, "created", actor, now, after=target.isoformat(), confidence=confidence
    )
    schedule_revisit(session, board, milestone, now)
    return milestone


def milestone_at(session: Session, board: MilestoneBoard, number: int) -> Milestone:
    """Return the board's milestone n, in any state; refuse a number it does not have."""
    assert board.id is not None
    milestone = store.by_number(session, board.id, number)
    if milestone is None:
        raise MilestoneError(f"There is no milestone #{number} here. `/milestone list` shows them.")
    return milestone


def open_milestone_at(session: Session, board: MilestoneBoard, number: int) -> Milestone:
    """Return the board's open milestone n; refuse one that has ended."""
    return require_open(milestone_at(session, board, number))


def require_open(milestone: Milestone) -> Milestone:
    """Refuse a milestone that is achieved or dropped."""
    if milestone.state != OPEN:
        raise MilestoneError(
            f"#{milestone.number} “{milestone.title}” is already {milestone.state}."
        )
    return milestone


def milestone_for_click(session: Session, workspace: Workspace, milestone_id: int) -> Milestone:
    """Return an open milestone by id for a button or modal; refuse one from elsewhere."""
    milestone = store.get_milestone(session, workspace, milestone_id)
    if milestone is None:
        raise MilestoneError("That milestone is not in this workspace any more.")
    return require_open(milestone)


def board_of(session: Session, milestone: Milestone) -> MilestoneBoard:
    """Return the board a milestone belongs to."""
    board = session.get(MilestoneBoard, milestone.board_id)
    assert board is not None
    return board


def rename(session: Session, milestone: Milestone, actor: str, title: str, now: datetime) -> None:
    """Rename a milestone."""
    before, milestone.title = milestone.title, title
    session.add(milestone)
    _record(session, milestone, "title", actor, now, before=before, after=title)


def move_target(
    session: Session,
    milestone: Milestone,
    actor: str,
    target: date,
    now: datetime,
    *,
    reason: str = "",
    confidence: int | None = None,
) -> None:
    """Move a milestone's target (a revisit answer): recorded, and the next revisit scheduled."""
    if target == milestone.target:
        raise MilestoneError(f"The target of #{milestone.number} is already {format_date(target)}.")
    before, milestone.target = milestone.target, target
    session.add(milestone)
    _record(
        session,
        milestone,
        "target",
        actor,
        now,
        before=before.isoformat(),
        after=target.isoformat(),
        reason=reason,
    )
    if confidence is not None:
        _change_confidence(session, milestone, actor, confidence, now)
    answered(session, milestone, now)


def set_confidence(
    session: Session, milestone: Milestone, actor: str, confidence: int, now: datetime
) -> None:
    """Change a milestone's confidence (a check-in answer, not a revisit)."""
    if confidence == milestone.confidence:
        raise MilestoneError(f"#{milestone.number} is already at {confidence}%.")
    _change_confidence(session, milestone, actor, confidence, now)


def confirm_on_track(
    session: Session, milestone: Milestone, actor: str, confidence: int, now: datetime
) -> None:
    """Record a revisit answered "on track" at a confidence, and schedule the next revisit."""
    if confidence != milestone.confidence:
        _change_confidence(session, milestone, actor, confidence, now)
    _record(session, milestone, "on_track", actor, now, confidence=confidence)
    answered(session, milestone, now)


def achieve(session: Session, milestone: Milestone, actor: str, now: datetime) -> None:
    """Mark a milestone achieved; its reminders stop."""
    _end(session, milestone, ACHIEVED, actor, now, "")


def drop(session: Session, milestone: Milestone, actor: str, now: datetime, reason: str) -> None:
    """Drop a milestone; its reminders stop."""
    _end(session, milestone, DROPPED, actor, now, reason)


def set_cadence(session: Session, board: MilestoneBoard, weeks: int, now: datetime) -> None:
    """Revisit every so many weeks from now on; open milestones' next revisits move with it."""
    board.cadence_weeks = weeks
    session.add(board)
    assert board.id is not None
    for milestone in store.milestones_of(session, board.id, states=(OPEN,)):
        milestone.revisit_round += 1
        session.add(milestone)
        schedule_revisit(session, board, milestone, now)


def set_checkins(session: Session, board: MilestoneBoard, weeks: int | None, now: datetime) -> None:
    """Ask for confidences every so many weeks between revisits, or stop asking (None)."""
    board.checkin_weeks = weeks
    session.add(board)
    _cancel(session, f"{CHECKIN_KIND}:{board.id}:")
    schedule_checkin(session, board, now)


def answered(session: Session, milestone: Milestone, now: datetime) -> None:
    """A person has revisited the milestone: the next revisit counts from now."""
    milestone.awaiting_since = None
    milestone.revisit_anchor = now
    milestone.revisit_round += 1
    session.add(milestone)
    schedule_revisit(session, board_of(session, milestone), milestone, now)


def next_revisit(board: MilestoneBoard, milestone: Milestone) -> tuple[datetime, str]:
    """Return when the milestone is next revisited and why: its cadence or its target date."""
    anchor_day = milestone.revisit_anchor.astimezone(zone(board.timezone)).date()
    cadence = local_moment(
        anchor_day + timedelta(weeks=board.cadence_weeks), REVISIT_MINUTE, board.timezone
    )
    target = local_moment(milestone.target, REVISIT_MINUTE, board.timezone)
    if milestone.revisit_anchor < target < cadence:
        return target, "target"
    return cadence, "cadence"


def schedule_revisit(
    session: Session, board: MilestoneBoard, milestone: Milestone, now: datetime
) -> None:
    """Replace the milestone's pending reminder with one for its next revisit."""
    _cancel(session, f"{REVISIT_KIND}:{milestone.id}:")
    due, why = next_revisit(board, milestone)
    _schedule_reminder(session, board, milestone, due, now, why=why, attempt=1)


def reminder_posted(
    session: Session, milestone: Milestone, payload: dict[str, Any], due: datetime, now: datetime
) -> None:
    """After a reminder due at `due`: repeat it a week later once; then await the next revisit."""
    board = board_of(session, milestone)
    milestone.awaiting_since = milestone.awaiting_since or due
    session.add(milestone)
    if payload.get("attempt") == 1:
        why = str(payload.get("why") or "cadence")
        _schedule_reminder(session, board, milestone, due + REPEAT_AFTER, now, why=why, attempt=2)
        return
    # Unanswered twice: it stays "due for revisit" in the digest; the cadence goes on from here.
    milestone.revisit_anchor = due
    milestone.revisit_round += 1
    schedule_revisit(session, board, milestone, now)


def is_current_reminder(milestone: Milestone | None, payload: dict[str, Any]) -> bool:
    """Tell whether a reminder in the outbox still applies (open, nothing answered since)."""
    return (
        milestone is not None
        and milestone.state == OPEN
        and payload.get("round") == milestone.revisit_round
    )


def schedule_checkin(session: Session, board: MilestoneBoard, now: datetime) -> None:
    """Put the board's next confidence check-in in the outbox, if check-ins are on."""
    if board.checkin_weeks is None:
        return
    day = local_today(board, now) + timedelta(weeks=board.checkin_weeks)
    due = local_moment(day, REVISIT_MINUTE, board.timezone)
    outbox.schedule_post(
        session,
        workspace=Workspace(board.team_id, board.enterprise_id),
        channel_id=board.channel_id,
        kind=CHECKIN_KIND,
        due_at=due,
        key=f"{CHECKIN_KIND}:{board.id}:{due.isoformat()}",
        now=now,
        payload={"board_id": board.id},
    )


def _schedule_reminder(
    session: Session,
    board: MilestoneBoard,
    milestone: Milestone,
    due: datetime,
    now: datetime,
    *,
    why: str,
    attempt: int,
) -> None:
    outbox.schedule_post(
        session,
        workspace=Workspace(board.team_id, board.enterprise_id),
        channel_id=board.channel_id,
        kind=REVISIT_KIND,
        due_at=due,
        key=f"{REVISIT_KIND}:{milestone.id}:{milestone.revisit_round}:{attempt}",
        now=now,
        payload={
            "milestone_id": milestone.id,
            "round": milestone.revisit_round,
            "attempt": attempt,
            "why": why,
        },
    )


def _cancel(session: Session, key_prefix: str) -> None:
    for post in store.pending_posts_with_prefix(session, key_prefix):
        post.state = CANCELLED
        session.add(post)


def _change_confidence(
    session: Session, milestone: Milestone, actor: str, confidence: int, now: datetime
) -> None:
    before, milestone.confidence = milestone.confidence, confidence
    session.add(milestone)
    _record(
        session,
        milestone,
        "confidence",
        actor,
        now,
        before=f"{before}",
        after=f"{confidence}",
        confidence=confidence,
    )


def _end(
    session: Session, milestone: Milestone, state: str, actor: str, now: datetime, reason: str
) -> None:
    milestone.state, milestone.ended_by, milestone.ended_at = state, actor, now
    milestone.end_reason = reason or None
    milestone.awaiting_since = None
    session.add(milestone)
    _record(session, milestone, state, actor, now, reason=reason)
    _cancel(session, f"{REVISIT_KIND}:{milestone.id}:")


def _record(
    session: Session,
    milestone: Milestone,
    kind: str,
    actor: str,
    now: datetime,
    *,
    before: str = "",
    after: str = "",
    reason: str = "",
    confidence: int | None = None,
) -> None:
    assert milestone.id is not None
    session.add(
        MilestoneEvent(
            milestone_id=milestone.id,
            kind=kind,
            actor_id=actor,
            at=now,
            before=before,
            after=after,
            reason=reason,
            confidence=confidence,
        )
    )


def format_date(day: date) -> str:
    """Write a date the way people read it: "Mon 1 Mar 2027"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def target_status(milestone: Milestone, today: date) -> str:
    """Say where a target stands: "Mon 1 Mar 2027 (in 14 weeks)", or that it is time to revisit."""
    days = (milestone.target - today).days
    when = format_date(milestone.target)
    if milestone.state != OPEN:
        return f"target {when}"
    if days < 0:
        return f"{PASSED} (target was {when})"
    if days == 0:
        return f"target {when} (today) — time to revisit"
    return f"target {when} ({_ahead(days)})"


def _ahead(days: int) -> str:
    if days == 1:
        return "tomorrow"
    if days < 14:
        return f"in {days} days"
    if days < 26 * 7:
        return f"in {days // 7} weeks"
    return f"in {round(days / 30.44)} months"


def sparkline(values: Sequence[int]) -> str:
    """Draw percentages (0 to 100) as a line of unicode bars."""
    top = len(SPARKS) - 1
    return "".join(SPARKS[round(max(0, min(100, value)) / 100 * top)] for value in values)


def confidence_trail(events: Sequence[MilestoneEvent]) -> list[int]:
    """Return every confidence the milestone was given, first to last, repeats collapsed."""
    trail: list[int] = []
    for event in events:
        if event.confidence is not None and (not trail or trail[-1] != event.confidence):
            trail.append(event.confidence)
    return trail


def describe_event(event: MilestoneEvent) -> str:
    """Say what an event did, in plain text (the actor and time are shown beside it)."""
    reason = f" — {event.reason}" if event.reason else ""
    if event.kind == "created":
        target = format_date(date.fromisoformat(event.after))
        return f"added it with target {target} at {event.confidence}%"
    if event.kind == "target":
        before = format_date(date.fromisoformat(event.before))
        after = format_date(date.fromisoformat(event.after))
        return f"moved the target from {before} to {after}{reason}"
    if event.kind == "confidence":
        return f"changed the confidence from {event.before}% to {event.after}%"
    if event.kind == "on_track":
        return f"revisited it: on track at {event.confidence}%"
    if event.kind == "title":
        return f"renamed it (it was “{event.before}”)"
    return f"marked it {event.kind}{reason}"


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


def due_for_revisit(milestone: Milestone, today: date) -> bool:
    """Tell whether an open milestone awaits a revisit: target reached or reminder unanswered."""
    return milestone.state == OPEN and (
        milestone.awaiting_since is not None or milestone.target <= today
    )


def digest_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the milestones' week: what is due for revisit, target moves and confidence changes."""
    board = store.find_board(session, window.workspace, window.channel_id)
    if board is None or board.id is None:
        return None
    today = window.end.astimezone(zone(board.timezone)).date()
    lines = [
        DigestLine(f"Due for revisit: #{m.number} {m.title} — {target_status(m, today)}")
        for m in store.milestones_of(session, board.id, states=(OPEN,))
        if due_for_revisit(m, today)
    ]
    for event, milestone in store.board_events_between(session, board.id, window.start, window.end):
        line = _digest_line(event, milestone)
        if line:
            lines.append(DigestLine(line, (event.actor_id,)))
    if not lines:
        return None
    if board.vision:
        lines.insert(0, DigestLine(f"Vision: {board.vision}"))
    return DigestSection("Milestones", tuple(lines), order=30)


def _digest_line(event: MilestoneEvent, milestone: Milestone) -> str:
    name = f"#{milestone.number} {milestone.title}"
    if event.kind == "target":
        before = format_date(date.fromisoformat(event.before))
        after = format_date(date.fromisoformat(event.after))
        reason = f" ({event.reason})" if event.reason else ""
        return f"Target moved: {name} — {before} → {after}{reason}"
    if event.kind == "confidence":
        return f"Confidence: {name} — {event.before}% → {event.after}%"
    if event.kind == "created":
        return f"New: {name} — target {format_date(milestone.target)}, {event.confidence}%"
    if event.kind in (ACHIEVED, DROPPED):
        return f"{event.kind.capitalize()}: {name}"
    return ""
