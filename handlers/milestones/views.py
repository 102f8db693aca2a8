"""Render milestones in Slack: the board, a history, calibration, the reminder and the modals."""

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import milestones
from bot.common.dates import moment_text
from bot.common.recurrence import zone
from bot.runtime.services import Services
from handlers.blocks import MAX_VIEW_BLOCKS, context, cut, escape, header, section
from handlers.slack import Reply, note
from storage import milestones as store
from storage.base import Workspace
from storage.db import engine_of
from storage.milestones import (
    OPEN,
    Milestone,
    MilestoneApproach,
    MilestoneBoard,
)

ON_TRACK_ACTION, MOVE_ACTION = "milestone_on_track", "milestone_move"
ACHIEVED_ACTION, DROP_ACTION = "milestone_achieved", "milestone_drop"
CONFIDENCE_ACTION = "milestone_confidence"
APPROACH_ACTION = "milestone_approach_chance"
MAX_ASKED_APPROACHES = 10
CONFIDENCE_VIEW, MOVE_VIEW = "milestone_confidence_view", "milestone_move_view"
CONFIDENCE_BLOCK, DATE_BLOCK, REASON_BLOCK = "milestone_pick", "milestone_date", "milestone_reason"
REVISIT, CHECKIN, APPROACH = "revisit", "checkin", "approach"
HOME_BOARD_LIMIT = 3
TRIED_WEEKS = 4
ADD_EXAMPLE = "`/milestone add &lt;title&gt; target &lt;date&gt;`"
BOARDS_KEPT = 1000  # rendered boards each process keeps, the most recently shown


class RenderedBoards:
    """The boards a process rendered lately, each for the version and day it was rendered at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boards: OrderedDict[int, tuple[int, date, tuple[Block, ...]]] = OrderedDict()

    def get(self, board: MilestoneBoard, today: date) -> tuple[Block, ...] | None:
        """Return the board's blocks if rendered at its current version on this day."""
        assert board.id is not None
        with self._lock:
            found = self._boards.get(board.id)
            if found is None or found[:2] != (board.version, today):
                return None
            self._boards.move_to_end(board.id)
            return found[2]

    def put(self, board: MilestoneBoard, today: date, blocks: Sequence[Block]) -> None:
        """Keep the board's blocks as rendered at its version on this day."""
        assert board.id is not None
        with self._lock:
            self._boards[board.id] = (board.version, today, tuple(blocks))
            self._boards.move_to_end(board.id)
            if len(self._boards) > BOARDS_KEPT:
                self._boards.popitem(last=False)


_RENDERED: "weakref.WeakKeyDictionary[Engine, RenderedBoards]" = weakref.WeakKeyDictionary()
_RENDERED_LOCK = threading.Lock()


def _rendered_boards(session: Session) -> RenderedBoards:
    with _RENDERED_LOCK:
        return _RENDERED.setdefault(engine_of(session), RenderedBoards())


def list_reply(
    session: Session, board: MilestoneBoard | None, now: datetime, headline: str = ""
) -> Reply:
    blocks: list[Block] = [section(headline)] if headline else []
    blocks += board_blocks(session, board, now)
    return Reply(headline or "Milestones", blocks)


def board_blocks(session: Session, board: MilestoneBoard | None, now: datetime) -> list[Block]:
    """Render the vision above the open milestones: target, confidence, and what needs a revisit.

    A board unchanged since this process last rendered it on the same day is not read again: its
    version (read with the board) says whether any process changed it. A session that changed
    boards itself renders afresh, as what it sees may yet be rolled back.
    """
    if board is None or board.id is None:
        return [section(f"_No milestones yet._ Add one with {ADD_EXAMPLE}.")]
    today = milestones.local_today(board, now)
    if store.changed_boards(session):
        return _render_board(session, board, today)
    rendered = _rendered_boards(session)
    blocks = rendered.get(board, today)
    if blocks is None:
        blocks = tuple(_render_board(session, board, today))
        rendered.put(board, today, blocks)
    return list(blocks)


def _render_board(session: Session, board: MilestoneBoard, today: date) -> list[Block]:
    assert board.id is not None
    blocks: list[Block] = [section(f"*Milestones* · <#{board.channel_id}>")]
    if board.vision:
        blocks.append(section(f":telescope: *Vision:* {escape(board.vision)}"))
    open_ones = store.milestones_of(session, board.id, states=(OPEN,))
    report = milestones.calibration(session, board)
    if not open_ones:
        blocks.append(section(f"_No open milestones._ Add one with {ADD_EXAMPLE}."))
    blocks += [section(line) for line in milestone_lines(session, board, open_ones, today, report)]
    ended, achieved = report.count, report.achieved
    tail = f" · {achieved} achieved, {ended - achieved} dropped" if ended else ""
    blocks.append(
        context(
            f"Revisited every {board.cadence_weeks} weeks and on the target date{tail} · "
            "`/milestone show &lt;n&gt;` for a history"
        )
    )
    return blocks


def milestone_lines(
    session: Session,
    board: MilestoneBoard,
    open_ones: Sequence[Milestone],
    today: date,
    report: milestones.CalibrationReport | None = None,
) -> list[str]:
    """Describe each open milestone in a line, in a constant number of queries."""
    if not open_ones:
        return []
    assert board.id is not None
    trails = store.confidence_trails(session, board.id, states=(OPEN,))
    since = datetime.combine(today - timedelta(weeks=TRIED_WEEKS), time(), UTC)
    tried = store.tried_counts_since(session, board.id, since)
    return [
        milestone_line(
            milestone,
            today,
            trails.get(milestone.id or 0, []),
            tried.get(milestone.id or 0, 0),
            report,
        )
        for milestone in open_ones
    ]


def milestone_line(
    milestone: Milestone,
    today: date,
    trail: Sequence[int],
    tried: int,
    report: milestones.CalibrationReport | None = None,
) -> str:
    """Describe an open milestone: target, confidence (with its trail), what was tried lately."""
    spark = f" `{milestones.sparkline(trail)}`" if len(trail) > 1 else ""
    status = milestones.target_status(milestone, today)
    awaiting = milestone.awaiting_since is not None and milestone.target > today
    flag = ":hourglass_flowing_sand: awaiting a revisit · " if awaiting else ""
    meaning = milestones.meaning(report, milestone.confidence) if report else None
    history = f" (history says ~{meaning.adjusted}%)" if meaning else ""
    tried_note = f" · {tried} tried in {TRIED_WEEKS} weeks" if tried else ""
    required = " · required" if milestone.required else ""
    return (
        f"*#{milestone.number}* {escape(milestone.title)}\n"
        f"{flag}{status} · {milestone.confidence}%{history}{spark}{required}{tried_note}"
    )


def history_reply(
    session: Session, board: MilestoneBoard, milestone: Milestone, timezone: str, now: datetime
) -> Reply:
    assert milestone.id is not None
    events = store.events_of(session, milestone.id)
    trail = milestones.confidence_trail(events)
    today = milestones.local_today(board, now)
    state = "" if milestone.state == OPEN else f" · {milestone.state}"
    blocks: list[Block] = [
        section(f"*#{milestone.number} {escape(milestone.title)}*"),
        section(
            f"{milestones.target_status(milestone, today)} · {milestone.confidence}%{state}\n"
            f"Confidence trail: `{milestones.sparkline(trail)}` "
            + " → ".join(f"{value}%" for value in trail)
        ),
    ]
    lines = [
        f"{local_time(event.at, timezone)} · <@{event.actor_id}> "
        f"{escape(milestones.describe_event(event))}"
        for event in events
    ]
    blocks += [section("\n".join(lines[start : start + 20])) for start in range(0, len(lines), 20)]
    tried = [
        f"{local_time(entry.at, timezone)} · <@{entry.actor_id}> tried "
        f"{escape(milestones.describe_tried(entry))}"
        for entry in store.tried_of(session, milestone.id)
    ]
    if tried:
        blocks.append(section("*Tried*\n" + "\n".join(tried[-20:])))
    if milestone.state == OPEN:
        due, _ = milestones.next_revisit(board, milestone)
        blocks.append(
            context(f"Next revisit: {local_time(due, timezone)}. Times in {escape(timezone)}.")
        )
    else:
        blocks.append(context(f"Times in {escape(timezone)}."))
    return Reply(f"#{milestone.number} {escape(milestone.title)}", blocks)


def calibration_reply(session: Session, board: MilestoneBoard | None) -> Reply:
    report = milestones.calibration(session, board) if board else None
    if report is None or report.count == 0:
        return note(
            "No milestone has ended here yet, so there is nothing to score.",
            "When milestones are achieved or dropped, this compares the confidence they were "
            "given with what happened.",
        )
    rows = ["confidence   n   avg   achieved"]
    rows += [
        f"{f'{bucket.low}–{bucket.high}%':<11}  {bucket.count:>3}  {bucket.mean_confidence:>3.0f}%"
        f"  {bucket.achieved_rate * 100:>5.0f}%"
        for bucket in report.buckets
    ]
    text = (
        f"*Calibration* over {report.count} ended milestone{'s' if report.count != 1 else ''} "
        f"(achieved counts as 1, dropped as 0)\n"
        f"Brier score of the first confidence: *{report.brier_first:.3f}* · "
        f"of the last before the end: *{report.brier_last:.3f}*\n"
        "```" + "\n".join(rows) + "```"
    )
    hint = (
        "Brier: 0 is perfect; always saying 50% scores 0.250. Well calibrated means milestones "
        "given 70% are achieved about 70% of the time."
    )
    blocks: list[Block] = [section(text), section(_meanings(report)), context(hint)]
    return Reply(f"Calibration: Brier score {report.brier_first:.3f}", blocks)


def _meanings(report: milestones.CalibrationReport) -> str:
    if report.count < milestones.MIN_ENDED:
        return (
            f"After {milestones.MIN_ENDED} ended milestones, focusbot says what each stated "
            f"confidence tends to mean here ({report.count} so far)."
        )
    lines = []
    for bucket in report.buckets:
        found = milestones.meaning(report, round(bucket.mean_confidence))
        if found:
            lines.append(f"• {escape(found.describe())}")
    return (
        "*What your confidence tends to mean*\n"
        + "\n".join(lines)
        + f"\n_Adjusted: a Beta prior centred on what you say, worth {milestones.PRIOR_WEIGHT} "
        "milestones, updated by each range's outcomes. `/milestone forecast` offers it too._"
    )


def local_time(moment: datetime, timezone: str) -> str:
    return f"{moment_text(moment.astimezone(zone(timezone)))}"


def reminder_blocks(
    milestone: Milestone,
    board: MilestoneBoard,
    why: str,
    attempt: int,
    today: date,
    approaches: Sequence[MilestoneApproach] = (),
) -> list[Block]:
    """Render a revisit reminder: where the milestone stands and the four answers."""
    reasons = {
        "target": "Its target date has arrived: is the target still right?",
        "cadence": f"It's been {board.cadence_weeks} weeks since it was last revisited.",
    }
    again = "\n_Reminder: nobody has answered this revisit yet._" if attempt > 1 else ""
    blocks: list[Block] = [
        header("Time to revisit a milestone"),
        section(
            f"*#{milestone.number} {escape(milestone.title)}*\n"
            f"{milestones.target_status(milestone, today)} · {milestone.confidence}%\n"
            f"{reasons.get(why, reasons['cadence'])}{again}"
        ),
    ]
    if approaches:
        blocks += _approach_questions(milestone, approaches)
    if board.vision:
        blocks.append(context(f":telescope: Vision: {escape(cut(board.vision, 300))}"))
    blocks.append(_revisit_buttons(milestone))
    return blocks


def _approach_questions(
    milestone: Milestone, approaches: Sequence[MilestoneApproach]
) -> list[Block]:
    """Ask about each approach: its chance now, with a button to change it."""
    blocks: list[Block] = [section("*How likely is each approach now?*")]
    for approach in approaches[:MAX_ASKED_APPROACHES]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{approach.number}. {escape(cut(approach.text, 150))} — "
                    f"now {approach.chance}%"
                ),
                accessory=ButtonElement(
                    text="Update chance",
                    action_id=APPROACH_ACTION,
                    value=f"{milestone.id}:{approach.number}",
                ),
            )
        )
    blocks.append(
        context(
            f"Or `/milestone approach {milestone.number} drop &lt;k&gt;` to drop one that no "
            "longer looks promising."
        )
    )
    return blocks


def _revisit_buttons(milestone: Milestone) -> ActionsBlock:
    value = str(milestone.id)
    return ActionsBlock(
        block_id=f"milestone_revisit_{milestone.id}",
        elements=[
            ButtonElement(text="On track", action_id=ON_TRACK_ACTION, value=value, style="primary"),
            ButtonElement(text="Move target", action_id=MOVE_ACTION, value=value),
            ButtonElement(text="Achieved", action_id=ACHIEVED_ACTION, value=value),
            ButtonElement(
                text="Drop",
                action_id=DROP_ACTION,
                value=value,
                style="danger",
                confirm=ConfirmObject(
                    title="Drop this milestone?",
                    text=f"“{escape(cut(milestone.title, 100))}” stops being revisited.",
                    confirm="Drop",
                    deny="Keep",
                ),
            ),
        ],
    )


def confidence_modal(
    milestone: Milestone, mode: str, approach: MilestoneApproach | None = None
) -> View:
    """Return the modal that asks how likely the milestone (or one approach) is to work out."""
    current = approach.chance if approach else milestone.confidence
    # The current figure is always a choice, so saving unchanged keeps it exactly.
    choices = sorted({*milestones.CONFIDENCE_CHOICES, current})
    options = [Option(value=str(p), text=f"{p}%") for p in choices]
    titles = {REVISIT: "On track", CHECKIN: "Confidence check-in", APPROACH: "Approach chance"}
    heading = f"*#{milestone.number} {escape(milestone.title)}*"
    metadata: dict[str, object] = {"milestone_id": milestone.id, "mode": mode}
    if approach:
        heading += f"\nApproach {approach.number}: {escape(cut(approach.text, 200))}"
        metadata["approach"] = approach.number
    return View(
        type="modal",
        callback_id=CONFIDENCE_VIEW,
        title=PlainTextObject(text=titles.get(mode, titles[CHECKIN])),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(metadata),
        blocks=[
            section(heading),
            InputBlock(
                block_id=CONFIDENCE_BLOCK,
                label="How likely is it to work out?",
                element=StaticSelectElement(
                    action_id="confidence",
                    options=options,
                    initial_option=next(o for o in options if o.value == str(current)),
                ),
            ),
        ],
    )


def move_modal(milestone: Milestone) -> View:
    """Return the modal that moves a target: a date picker and an optional reason."""
    return View(
        type="modal",
        callback_id=MOVE_VIEW,
        title=PlainTextObject(text="Move target"),
        submit=PlainTextObject(text="Move"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"milestone_id": milestone.id}),
        blocks=[
            section(f"*#{milestone.number} {escape(milestone.title)}*"),
            InputBlock(
                block_id=DATE_BLOCK,
                label="New target date",
                element=DatePickerElement(
                    action_id="date", initial_date=milestone.target.isoformat()
                ),
            ),
            InputBlock(
                block_id=REASON_BLOCK,
                label="Why it moves (optional)",
                optional=True,
                element=PlainTextInputElement(
                    action_id="reason", max_length=milestones.MAX_REASON_LENGTH
                ),
            ),
        ],
    )


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the vision and open milestones of the boards the person takes part in."""
    now = services.now()
    blocks: list[Block] = [header("Milestones")]
    with services.session() as session:
        boards = store.boards_of_person(session, workspace, user_id)
        for board in boards[:HOME_BOARD_LIMIT]:
            blocks += board_blocks(session, board, now)
            blocks.append(DividerBlock())
    if not boards:
        blocks.append(
            section(
                "You're on no milestones yet. Add one in a team channel with "
                "`/milestone add &lt;title&gt; target &lt;date&gt;`."
            )
        )
    if len(boards) > HOME_BOARD_LIMIT:
        blocks.append(
            context(
                f"…and {len(boards) - HOME_BOARD_LIMIT} more. Use `/milestone` in their channels."
            )
        )
    return blocks[:MAX_VIEW_BLOCKS]
