"""`/maker` and its subcommands, carried out and answered."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from sqlmodel import Session

from bot import maker
from bot.common.leads import NotALead, require_lead
from bot.common.people import timezone_of
from bot.maker import MakerError, UsageError
from bot.runtime.services import Services
from handlers.blocks import escape
from handlers.maker.calendar import calendar_reply
from handlers.maker.charts import kept_chart_reply
from handlers.maker.views import check_reply, schedule_reply, slots_reply
from handlers.slack import (
    Reply,
    answer_command,
    note,
    services_of,
    timezone_fetcher,
    usage_error_reply,
    usage_reply,
    workspace_of,
)
from storage.base import Workspace

HINT = "Type `/maker help` for every command."


def on_maker_command(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Run a `/maker` subcommand and answer the caller within Slack's three seconds."""
    services = services_of(context)
    workspace = workspace_of(body, context)
    try:
        command = maker.parse_command(body.get("text") or "")
    except UsageError as error:
        answer_command(ack, respond, usage_error_reply(error, usage))
        return
    reply = run(services, client, workspace, body["user_id"], body["channel_id"], command)
    answer_command(ack, respond, reply)


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(maker.USAGE, problem)


def run(
    services: Services,
    client: WebClient,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    command: maker.Command,
) -> Reply:
    """Carry out a parsed command; a refusal changes nothing and says why."""
    if isinstance(command, maker.Help):
        return usage()
    now = services.now()
    try:
        with services.session() as session:
            timezone = timezone_of(session, workspace, user_id, timezone_fetcher(client), now)
            maker.note_member(session, workspace, channel_id, user_id, now)
            if isinstance(command, maker.KeptChart):
                _, team = maker.schedule_for(session, workspace, channel_id, user_id, timezone)
                trend = (
                    maker.kept_per_week(session, workspace, team, command.weeks, now)
                    if team
                    else None
                )
                return kept_chart_reply(client, channel_id, trend, command.weeks)
            if isinstance(command, maker.CalendarCommand):
                allow_private = services.settings.calendar_private_addresses
                return calendar_reply(
                    session, workspace, user_id, channel_id, command, now, allow_private
                )
            return _carry_out(session, workspace, user_id, channel_id, command, timezone, now)
    except UsageError as error:
        return usage_error_reply(error, usage)
    except MakerError as refusal:
        return note(escape(refusal.message), HINT)
    except NotALead as refusal:
        leads = ", ".join(f"<@{lead}>" for lead in refusal.leads)
        return note(
            f"Only the workspace's leads can change the team's schedule: {leads}. "
            "Nothing was changed.",
            "Ask one of them, or see the schedule with `/maker`.",
        )


def _carry_out(
    session: Session,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    command: maker.Command,
    timezone: str,
    now: datetime,
) -> Reply:
    if isinstance(command, maker.SetCommand):
        require_lead(session, workspace, user_id)
        updated = maker.save_schedule(
            session, workspace, channel_id, command, user_id, timezone, now
        )
        return schedule_reply(updated, channel_id, timezone, now, "Saved. ")
    schedule, team_channel = maker.schedule_for(session, workspace, channel_id, user_id, timezone)
    if isinstance(command, maker.Show):
        return schedule_reply(schedule, team_channel, timezone, now)
    horizon = now + timedelta(days=maker.SEARCH_DAYS + 7)
    if isinstance(command, maker.CheckCommand):
        start = maker.resolve_when(command.when, timezone, now)
        search_from, search_until = maker.slot_search(start, now)
        busy, _ = maker.busy_of_team(  # only the meetings the slot search can meet
            session, workspace, team_channel, user_id, search_from, min(search_until, horizon)
        )
        check = maker.check_meeting(schedule, start, command.duration, command.attendees, busy, now)
        return check_reply(schedule, check, timezone)
    assert isinstance(command, maker.Slots)
    busy, calendars = maker.busy_of_team(session, workspace, team_channel, user_id, now, horizon)
    until = now + timedelta(days=command.days)
    slots = maker.free_slots(schedule, now, until, command.duration, busy, maker.LISTED_SLOTS)
    return slots_reply(schedule, command, slots, calendars, timezone)
