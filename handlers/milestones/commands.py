"""Carry out `/milestone` commands and answer with the board, a setting or a refusal."""

from datetime import date, datetime

from slack_sdk import WebClient
from sqlmodel import Session

from bot import milestones
from bot.common.caller import Caller
from bot.common.dates import day_text
from bot.common.people import timezone_of
from bot.milestones import MilestoneError
from bot.runtime.services import Services
from handlers.blocks import context, escape
from handlers.milestones.plan import (
    PLAN_COMMANDS,
    calibration_chart_reply,
    change_plan,
    forecast_reply,
)
from handlers.milestones.views import calibration_reply, history_reply, list_reply, local_time
from handlers.slack import Reply, note, timezone_fetcher, usage_reply
from storage import milestones as store
from storage.milestones import MilestoneBoard

HINT = "Type `/milestone help` for every command."


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(
        milestones.USAGE,
        problem,
        context(milestones.DATE_HINT),
        context(escape(milestones.APPROACH_HINT)),
    )


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
        return list_reply(session, board, now)
    if isinstance(command, milestones.Show):
        if board is None:
            raise MilestoneError(_no_board())
        milestone = milestones.milestone_at(session, board, command.number)
        timezone = _timezone(session, client, caller, now)
        return history_reply(session, board, milestone, timezone, now)
    if isinstance(command, milestones.Calibration) and command.chart:
        return calibration_chart_reply(session, client, board, now)
    if isinstance(command, milestones.Calibration):
        return calibration_reply(session, board)
    if isinstance(command, milestones.ShowForecast):
        return forecast_reply(session, board)
    if isinstance(command, PLAN_COMMANDS):
        if board is None:
            raise MilestoneError(_no_board())
        return change_plan(session, board, caller.user_id, command, now)
    if _only_shows(command):
        return _setting_reply(board, command)
    if isinstance(command, milestones.Add):
        # Read the date before creating anything, so a bad one leaves no trace.
        timezone = board.timezone if board else _timezone(session, client, caller, now)
        target = milestones.resolve_target_in(timezone, command.target, now)
        board = board or milestones.ensure_board(session, caller, timezone, now)
        return _add(session, board, caller.user_id, command, target, now)
    if board is None:
        if not isinstance(
            command,
            milestones.Vision | milestones.VisionDate | milestones.Cadence | milestones.Checkins,
        ):
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
        f"target {day_text(target)} at {added.confidence}%. "
        f"First revisit: {local_time(due, board.timezone)}."
    )
    return list_reply(session, board, now, headline)


def _change(
    session: Session, board: MilestoneBoard, actor: str, command: milestones.Command, now: datetime
) -> Reply:
    if isinstance(command, milestones.Vision) and command.text is not None:
        milestones.set_vision(session, board, actor, command.text, now)
        return list_reply(session, board, now, "The vision is set.")
    if isinstance(command, milestones.VisionDate):
        day = milestones.resolve_target(board, command.date, now)
        milestones.set_vision_date(session, board, day)
        return note(
            f"The vision is to be reached by {day_text(day)}.",
            "`/milestone forecast` says how many milestones land by then.",
        )
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
        headline = f"Moved the target of {name} to {day_text(target)}."
    elif isinstance(command, milestones.SetConfidence):
        milestones.set_confidence(session, milestone, actor, command.confidence, now)
        headline = f"{name} is now at {command.confidence}%."
    elif isinstance(command, milestones.Achieve):
        milestones.achieve(session, milestone, actor, now)
        headline = f"{name} is achieved. :tada:"
    else:
        milestones.drop(session, milestone, actor, now, command.reason)
        headline = f"Dropped {name}."
    return list_reply(session, board, now, headline)


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
