"""`/milestone`, its revisit reminders, buttons and modals, its Home section, in Slack."""

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from bot import milestones
from bot.common.caller import Caller
from bot.common.digest import DigestSectionBuilder
from bot.common.mentions import plain_text
from bot.common.outbox import payload_of
from bot.common.people import timezone_of
from bot.common.recurrence import zone
from bot.milestones import MilestoneError, UsageError
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers.blocks import MAX_VIEW_BLOCKS, context, cut, escape, fallback, header, section
from handlers.slack import (
    Reply,
    command_listener,
    int_value,
    note,
    services_of,
    timezone_fetcher,
    usage_reply,
    workspace_of,
)
from storage import milestones as store
from storage.base import Workspace
from storage.milestones import ACHIEVED, DROPPED, OPEN, Milestone, MilestoneBoard
from storage.schedule import ScheduledPost

COMMAND = "/milestone"
ON_TRACK_ACTION, MOVE_ACTION = "milestone_on_track", "milestone_move"
ACHIEVED_ACTION, DROP_ACTION = "milestone_achieved", "milestone_drop"
CONFIDENCE_ACTION = "milestone_confidence"
CONFIDENCE_VIEW, MOVE_VIEW = "milestone_confidence_view", "milestone_move_view"
CONFIDENCE_BLOCK, DATE_BLOCK, REASON_BLOCK = "milestone_pick", "milestone_date", "milestone_reason"
REVISIT, CHECKIN = "revisit", "checkin"
HOME_BOARD_LIMIT = 3
HINT = "Type `/milestone help` for every command."
ADD_EXAMPLE = "`/milestone add &lt;title&gt; target &lt;date&gt;`"


def register(app: App) -> None:
    """Register `/milestone`, the reminder's buttons and the modals behind them."""
    app.command(COMMAND)(command_listener(milestones.parse_command, usage, UsageError, run))
    app.action(ON_TRACK_ACTION)(on_confidence_clicked)
    app.action(CONFIDENCE_ACTION)(on_confidence_clicked)
    app.action(MOVE_ACTION)(on_move_clicked)
    app.action(ACHIEVED_ACTION)(on_end_clicked)
    app.action(DROP_ACTION)(on_end_clicked)
    app.view(CONFIDENCE_VIEW)(on_confidence_submitted)
    app.view(MOVE_VIEW)(on_move_submitted)


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(milestones.USAGE, problem, context(milestones.DATE_HINT))


def run(
    services: Services, client: WebClient, caller: Caller, command: milestones.Command
) -> Reply:
    """Carry out a parsed command; a refusal changes nothing and says why."""
    now = services.now()
    try:
        with services.session() as session:
            return _carry_out(session, client, caller, command, now)
    except MilestoneError as refusal:
        return note(escape(refusal.message) + " Nothing was changed.", HINT)


def _carry_out(
    session: Session, client: WebClient, caller: Caller, command: milestones.Command, now: datetime
) -> Reply:
    if isinstance(command, milestones.Help):
        return usage()
    board = milestones.find_board(session, caller)
    if isinstance(command, milestones.ShowList):
        return _list_reply(session, board, now)
    if isinstance(command, milestones.Show):
        if board is None:
            raise MilestoneError(_no_board())
        milestone = milestones.milestone_at(session, board, command.number)
        timezone = _timezone(session, client, caller, now)
        return _history_reply(session, board, milestone, timezone, now)
    if isinstance(command, milestones.Calibration):
        return _calibration_reply(session, board)
    if _only_shows(command):
        return _setting_reply(board, command)
    if isinstance(command, milestones.Add):
        # Read the date before creating anything, so a bad one leaves no trace.
        timezone = board.timezone if board else _timezone(session, client, caller, now)
        target = milestones.resolve_target_in(timezone, command.target, now)
        board = board or milestones.ensure_board(session, caller, timezone, now)
        return _add(session, board, caller.user_id, command, target, now)
    if board is None:
        if not isinstance(command, milestones.Vision | milestones.Cadence | milestones.Checkins):
            raise MilestoneError(_no_board())
        board = milestones.ensure_board(
            session, caller, _timezone(session, client, caller, now), now
        )
    return _change(session, board, caller.user_id, command, now)


def _timezone(session: Session, client: WebClient, caller: Caller, now: datetime) -> str:
    return timezone_of(session, caller.workspace, caller.user_id, timezone_fetcher(client), now)


def _only_shows(command: milestones.Command) -> bool:
    return (
        isinstance(command, milestones.Vision | milestones.Cadence) and _value(command) is None
    ) or command == milestones.Checkins(None)


def _value(command: milestones.Vision | milestones.Cadence) -> object:
    return command.text if isinstance(command, milestones.Vision) else command.weeks


def _no_board() -> str:
    return (
        "This conversation has no milestones yet. Add the first with "
        "`/milestone add <title> target <date>`."
    )


def _add(
    session: Session,
    board: MilestoneBoard,
    actor: str,
    command: milestones.Add,
    target: date,
    now: datetime,
) -> Reply:
    added = milestones.add(session, board, actor, command.title, target, command.confidence, now)
    due, _ = milestones.next_revisit(board, added)
    headline = (
        f"Added #{added.number} “{escape(added.title)}”, "
        f"target {milestones.format_date(target)} at {added.confidence}%. "
        f"First revisit: {_local(due, board.timezone)}."
    )
    return _list_reply(session, board, now, headline)


def _change(
    session: Session, board: MilestoneBoard, actor: str, command: milestones.Command, now: datetime
) -> Reply:
    if isinstance(command, milestones.Vision) and command.text is not None:
        milestones.set_vision(session, board, actor, command.text, now)
        return _list_reply(session, board, now, "The vision is set.")
    if isinstance(command, milestones.Cadence) and command.weeks is not None:
        milestones.set_cadence(session, board, command.weeks, now)
        return _setting_reply(board, command)
    if isinstance(command, milestones.Checkins):
        milestones.set_checkins(session, board, None if command.off else command.weeks, now)
        return _setting_reply(board, command)
    return _change_milestone(session, board, actor, command, now)


def _change_milestone(
    session: Session, board: MilestoneBoard, actor: str, command: milestones.Command, now: datetime
) -> Reply:
    assert isinstance(
        command,
        milestones.Rename
        | milestones.MoveTarget
        | milestones.SetConfidence
        | milestones.Achieve
        | milestones.Drop,
    )
    milestone = milestones.open_milestone_at(session, board, command.number)
    name = f"#{milestone.number} “{escape(milestone.title)}”"
    if isinstance(command, milestones.Rename):
        milestones.rename(session, milestone, actor, command.title, now)
        headline = f"{name} is now “{escape(command.title)}”."
    elif isinstance(command, milestones.MoveTarget):
        target = milestones.resolve_target(board, command.target, now)
        milestones.move_target(
            session,
            milestone,
            actor,
            target,
            now,
            reason=command.reason,
            confidence=command.confidence,
        )
        headline = f"Moved the target of {name} to {milestones.format_date(target)}."
    elif isinstance(command, milestones.SetConfidence):
        milestones.set_confidence(session, milestone, actor, command.confidence, now)
        headline = f"{name} is now at {command.confidence}%."
    elif isinstance(command, milestones.Achieve):
        milestones.achieve(session, milestone, actor, now)
        headline = f"{name} is achieved. :tada:"
    else:
        milestones.drop(session, milestone, actor, now, command.reason)
        headline = f"Dropped {name}."
    return _list_reply(session, board, now, headline)


def _setting_reply(board: MilestoneBoard | None, command: milestones.Command) -> Reply:
    if isinstance(command, milestones.Vision):
        if board is None or not board.vision:
            return note(
                "No vision yet.",
                "Set it with `/milestone vision &lt;text&gt;`: where the team "
                "wants to be in about nine months.",
            )
        return note(
            f"*Vision:* {escape(board.vision)}", "Change it with `/milestone vision &lt;text&gt;`."
        )
    weeks = board.cadence_weeks if board else store.DEFAULT_CADENCE_WEEKS
    if isinstance(command, milestones.Cadence):
        return note(
            f"Open milestones are revisited every {weeks} weeks and when their target date "
            "arrives.",
            "Change it with `/milestone cadence &lt;weeks&gt;`.",
        )
    checkins = board.checkin_weeks if board else None
    if checkins is None:
        return note(
            "Confidence check-ins between revisits are off.",
            "Turn them on with `/milestone checkins &lt;weeks&gt;`, for example every 2 weeks.",
        )
    return note(
        f"Every {checkins} weeks focusbot asks for the current confidence of each open milestone.",
        "Turn them off with `/milestone checkins off`.",
    )


def _list_reply(
    session: Session, board: MilestoneBoard | None, now: datetime, headline: str = ""
) -> Reply:
    blocks: list[Block] = [section(headline)] if headline else []
    blocks += board_blocks(session, board, now)
    return Reply(headline or "Milestones", blocks)


def board_blocks(session: Session, board: MilestoneBoard | None, now: datetime) -> list[Block]:
    """Render the vision above the open milestones: target, confidence, and what needs a revisit."""
    if board is None or board.id is None:
        return [section(f"_No milestones yet._ Add one with {ADD_EXAMPLE}.")]
    blocks: list[Block] = [section(f"*Milestones* · <#{board.channel_id}>")]
    if board.vision:
        blocks.append(section(f":telescope: *Vision:* {escape(board.vision)}"))
    today = milestones.local_today(board, now)
    open_ones = store.milestones_of(session, board.id, states=(OPEN,))
    if not open_ones:
        blocks.append(section(f"_No open milestones._ Add one with {ADD_EXAMPLE}."))
    for milestone in open_ones:
        blocks.append(section(_milestone_line(session, milestone, today)))
    ended = store.milestones_of(session, board.id, states=(ACHIEVED, DROPPED))
    achieved = sum(1 for m in ended if m.state == ACHIEVED)
    tail = f" · {achieved} achieved, {len(ended) - achieved} dropped" if ended else ""
    blocks.append(
        context(
            f"Revisited every {board.cadence_weeks} weeks and on the target date{tail} · "
            "`/milestone show &lt;n&gt;` for a history"
        )
    )
    return blocks


def _milestone_line(session: Session, milestone: Milestone, today: date) -> str:
    assert milestone.id is not None
    trail = milestones.confidence_trail(store.events_of(session, milestone.id))
    spark = f" `{milestones.sparkline(trail)}`" if len(trail) > 1 else ""
    status = milestones.target_status(milestone, today)
    awaiting = milestone.awaiting_since is not None and milestone.target > today
    flag = ":hourglass_flowing_sand: awaiting a revisit · " if awaiting else ""
    return (
        f"*#{milestone.number}* {escape(milestone.title)}\n"
        f"{flag}{status} · {milestone.confidence}%{spark}"
    )


def _history_reply(
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
        f"{_local(event.at, timezone)} · <@{event.actor_id}> "
        f"{escape(milestones.describe_event(event))}"
        for event in events
    ]
    blocks += [section("\n".join(lines[start : start + 20])) for start in range(0, len(lines), 20)]
    if milestone.state == OPEN:
        due, _ = milestones.next_revisit(board, milestone)
        blocks.append(
            context(f"Next revisit: {_local(due, timezone)}. Times in {escape(timezone)}.")
        )
    else:
        blocks.append(context(f"Times in {escape(timezone)}."))
    return Reply(f"#{milestone.number} {escape(milestone.title)}", blocks)


def _calibration_reply(session: Session, board: MilestoneBoard | None) -> Reply:
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
    return Reply(
        f"Calibration: Brier score {report.brier_first:.3f}", [section(text), context(hint)]
    )


def _local(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zone(timezone)):%a %d %b %Y %H:%M}"


def reminder_blocks(
    milestone: Milestone, board: MilestoneBoard, why: str, attempt: int, today: date
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
    if board.vision:
        blocks.append(context(f":telescope: Vision: {escape(cut(board.vision, 300))}"))
    blocks.append(_revisit_buttons(milestone))
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


def on_confidence_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the confidence picker: On track (a revisit) or a check-in's update."""
    ack()
    mode = REVISIT if action.get("action_id") == ON_TRACK_ACTION else CHECKIN
    milestone = _clicked_milestone(body, action, context, respond)
    if milestone is not None:
        client.views_open(trigger_id=body["trigger_id"], view=confidence_modal(milestone, mode))


def on_move_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the modal that moves the clicked milestone's target."""
    ack()
    milestone = _clicked_milestone(body, action, context, respond)
    if milestone is not None:
        client.views_open(trigger_id=body["trigger_id"], view=move_modal(milestone))


def _clicked_milestone(
    body: dict[str, Any], action: dict[str, Any], context: BoltContext, respond: Callable[..., Any]
) -> Milestone | None:
    services = services_of(context)
    try:
        with services.session() as session:
            return milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(action.get("value")) or 0
            )
    except MilestoneError as refusal:
        respond(replace_original=False, response_type="ephemeral", text=escape(refusal.message))
        return None


def on_end_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Mark the clicked milestone achieved or dropped and update the reminder in place."""
    ack()
    services = services_of(context)
    actor = body["user"]["id"]
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(action.get("value")) or 0
            )
            name = f"#{milestone.number} “{escape(milestone.title)}”"
            if action.get("action_id") == ACHIEVED_ACTION:
                milestones.achieve(session, milestone, actor, now)
                headline = f"<@{actor}> marked {name} achieved. :tada:"
            else:
                milestones.drop(session, milestone, actor, now, "")
                headline = f"<@{actor}> dropped {name}."
    except MilestoneError as refusal:
        respond(replace_original=False, response_type="ephemeral", text=escape(refusal.message))
        return
    respond(replace_original=True, text=headline, blocks=[section(headline).to_dict()])


def confidence_modal(milestone: Milestone, mode: str) -> View:
    """Return the modal that asks how likely the milestone is to work out."""
    # The current confidence is always a choice, so saving unchanged keeps it exactly.
    choices = sorted({*milestones.CONFIDENCE_CHOICES, milestone.confidence})
    options = [Option(value=str(p), text=f"{p}%") for p in choices]
    title = "On track" if mode == REVISIT else "Confidence check-in"
    return View(
        type="modal",
        callback_id=CONFIDENCE_VIEW,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"milestone_id": milestone.id, "mode": mode}),
        blocks=[
            section(f"*#{milestone.number} {escape(milestone.title)}*"),
            InputBlock(
                block_id=CONFIDENCE_BLOCK,
                label="How likely is it to work out?",
                element=StaticSelectElement(
                    action_id="confidence",
                    options=options,
                    initial_option=next(o for o in options if o.value == str(milestone.confidence)),
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


def on_confidence_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Record the picked confidence: an on-track revisit answer, or a check-in."""
    services = services_of(context)
    actor = body["user"]["id"]
    metadata = _metadata(view.get("private_metadata"))
    raw = str(
        ((_values(view, CONFIDENCE_BLOCK, "confidence").get("selected_option")) or {}).get("value")
        or ""
    )
    confidence = int(raw) if raw.isdecimal() and int(raw) <= 100 else None
    if confidence is None:
        ack(response_action="errors", errors={CONFIDENCE_BLOCK: "Pick a confidence."})
        return
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(metadata.get("milestone_id")) or 0
            )
            name = f"#{milestone.number} “{escape(milestone.title)}”"
            if metadata.get("mode") == CHECKIN:
                if confidence != milestone.confidence:
                    milestones.set_confidence(session, milestone, actor, confidence, now)
                headline = f"<@{actor}> checked in on {name}: {confidence}%."
            else:
                milestones.confirm_on_track(session, milestone, actor, confidence, now)
                board = store.board_of(session, milestone)
                due, _ = milestones.next_revisit(board, milestone)
                headline = (
                    f"<@{actor}> revisited {name}: on track at {confidence}%. "
                    f"Next revisit: {_local(due, board.timezone)}."
                )
            channel = store.board_of(session, milestone).channel_id
    except MilestoneError as refusal:
        ack(response_action="errors", errors={CONFIDENCE_BLOCK: cut(refusal.message, 150)})
        return
    ack()
    _announce(client, channel, headline)


def on_move_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Move the target to the picked date; show what is wrong inside the modal instead."""
    services = services_of(context)
    actor = body["user"]["id"]
    metadata = _metadata(view.get("private_metadata"))
    picked = str(_values(view, DATE_BLOCK, "date").get("selected_date") or "")
    reason = str(_values(view, REASON_BLOCK, "reason").get("value") or "").strip()
    reason = plain_text(reason)[: milestones.MAX_REASON_LENGTH]
    now = services.now()
    try:
        with services.session() as session:
            milestone = milestones.milestone_for_click(
                session, workspace_of(body, context), int_value(metadata.get("milestone_id")) or 0
            )
            board = store.board_of(session, milestone)
            target = milestones.resolve_target(board, picked, now)
            milestones.move_target(session, milestone, actor, target, now, reason=reason)
            why = f" — {escape(reason)}" if reason else ""
            headline = (
                f"<@{actor}> moved the target of #{milestone.number} “{escape(milestone.title)}” "
                f"to {milestones.format_date(target)}{why}."
            )
            channel = board.channel_id
    except MilestoneError as refusal:
        ack(response_action="errors", errors={DATE_BLOCK: cut(refusal.message, 150)})
        return
    ack()
    _announce(client, channel, headline)


def _announce(client: WebClient, channel: str, text: str) -> None:
    client.chat_postMessage(channel=channel, text=text, blocks=[section(text).to_dict()])


def _values(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    found = (values.get(block_id) or {}).get(action_id)
    return found if isinstance(found, dict) else {}


def _metadata(raw: object) -> dict[str, Any]:
    try:
        loaded = json.loads(str(raw or ""))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


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


def deliver_revisit(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Post a revisit reminder with its buttons, then schedule the repeat or the next revisit."""
    now = services.now()
    payload = payload_of(post)
    milestone = store.get_milestone(
        session,
        Workspace(post.team_id, post.enterprise_id),
        int_value(payload.get("milestone_id")) or 0,
    )
    if milestone is None or not milestones.is_current_reminder(milestone, payload):
        return
    board = store.board_of(session, milestone)
    attempt = 2 if payload.get("attempt") == 2 else 1
    today = milestones.local_today(board, now)
    why = "target" if milestone.target <= today else str(payload.get("why") or "cadence")
    blocks = reminder_blocks(milestone, board, why, attempt, today)
    client.chat_postMessage(
        channel=board.channel_id,
        text=fallback(f"Time to revisit milestone #{milestone.number}: {escape(milestone.title)}"),
        blocks=[block.to_dict() for block in blocks],
    )
    milestones.reminder_posted(session, milestone, payload, post.due_at, now)


def deliver_checkin(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Ask for the current confidence of each open milestone, then schedule the next check-in."""
    now = services.now()
    board = store.get_board(
        session,
        Workspace(post.team_id, post.enterprise_id),
        int_value(payload_of(post).get("board_id")) or 0,
    )
    if board is None or board.id is None or board.checkin_weeks is None:
        return
    open_ones = store.milestones_of(session, board.id, states=(OPEN,))
    if open_ones:
        today = milestones.local_today(board, now)
        blocks: list[Block] = [header("Milestone check-in: how likely now?")]
        for milestone in open_ones[:20]:
            blocks.append(section(_milestone_line(session, milestone, today)))
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text="Update confidence",
                            action_id=CONFIDENCE_ACTION,
                            value=str(milestone.id),
                        )
                    ]
                )
            )
        client.chat_postMessage(
            channel=board.channel_id,
            text="Milestone check-in: how likely is each milestone to work out now?",
            blocks=[block.to_dict() for block in blocks],
        )
    milestones.schedule_checkin(session, board, now)


DELIVERERS: dict[str, Deliverer] = {
    milestones.REVISIT_KIND: deliver_revisit,
    milestones.CHECKIN_KIND: deliver_checkin,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (milestones.digest_section,)
