"""Run `/pain` and its subcommands."""

import io
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot import pain
from bot.common import digest
from bot.common.dates import day_text
from bot.common.leads import NotALead, add_leads, lead_ids, may_decide, remove_lead, require_lead
from bot.common.recurrence import zone
from bot.pain import PainError, UsageError
from bot.runtime.services import Services
from handlers import digest as digest_view
from handlers.blocks import context, cut, escape, header, section
from handlers.pain.capture import ensure_digest
from handlers.pain.charts import top_chart_reply
from handlers.pain.review import open_review
from handlers.pain.views import (
    HINT,
    logged_reply,
    mentions,
    not_a_lead_reply,
    point_reply,
    top_reply,
    usage,
    user_timezone,
)
from handlers.slack import (
    Reply,
    answer_command,
    note,
    services_of,
    usage_error_reply,
    workspace_of,
)
from storage.base import Workspace

log = logging.getLogger(__name__)

LIST_LIMIT = 20
TOP_LIMIT = 10


def on_pain_command(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Run a `/pain` subcommand and answer within Slack's three seconds."""
    services = services_of(context)
    workspace = workspace_of(body, context)
    user_id, channel_id = body["user_id"], body["channel_id"]
    try:
        command = pain.parse_command(body.get("text") or "")
    except UsageError as error:
        answer_command(ack, respond, usage_error_reply(error, usage))
        return
    if isinstance(command, pain.Export):
        _export(ack, respond, services, client, workspace, user_id)
        return
    try:
        reply = _run(services, client, workspace, user_id, channel_id, command, body)
    except PainError as refusal:
        reply = note(escape(refusal.message), HINT)
    except NotALead as refusal:
        reply = not_a_lead_reply(refusal)
    if reply is None:
        ack()  # the review modal is open
    else:
        answer_command(ack, respond, reply)


def _run(
    services: Services,
    client: WebClient,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    command: pain.Command,
    body: dict[str, Any],
) -> Reply | None:
    now = services.now()
    if isinstance(command, pain.Help):
        return usage()
    if isinstance(command, pain.Review):
        return open_review(services, client, workspace, user_id, command.number, body)
    if isinstance(command, pain.Log):
        return _log(services, client, workspace, user_id, channel_id, command.text, now)
    with services.session() as session:
        if isinstance(command, pain.Digest):
            return _digest(session, client, services, workspace, channel_id, user_id, command)
        if isinstance(command, pain.Leads):
            return _leads(session, workspace, user_id, command, now)
        if isinstance(command, pain.Top) and command.chart:
            trends = pain.weekly_demand(session, workspace, command.weeks, now)
            return top_chart_reply(client, channel_id, trends, command.weeks)
        return _answer(
            session,
            workspace,
            user_id,
            command,
            now,
            lambda: user_timezone(session, client, workspace, user_id, now),
        )


def _log(
    services: Services,
    client: WebClient,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    text: str,
    now: datetime,
) -> Reply:
    matcher = services.pain_matcher
    searched = pain.search_pain(services.session, workspace, text, matcher)
    with services.session() as session:
        # Before log_pain locks the workspace: this may ask Slack for the person's timezone.
        ensure_digest(session, client, workspace, channel_id, user_id, now)
        logged = pain.log_pain(
            session, workspace, user_id, channel_id, text, now, matcher=matcher, searched=searched
        )
    return logged_reply(logged)


def _answer(
    session: Session,
    workspace: Workspace,
    user_id: str,
    command: pain.Command,
    now: datetime,
    timezone: Callable[[], str],
) -> Reply:
    if isinstance(command, pain.MeToo):
        point, added = pain.me_too(session, workspace, user_id, command.number, now)
        if not added:
            return note(f"You're already counted on #{point.number}.", HINT)
        return note(f"Counted you on #{point.number}: “{escape(cut(point.text, 200))}”.")
    if isinstance(command, pain.Show):
        return point_reply(pain.view_point(session, workspace, command.number), timezone())
    if isinstance(command, pain.ListPoints):
        return _list(session, workspace, command.statuses, timezone())
    if isinstance(command, pain.Top):
        themes, total = pain.top_themes(session, workspace, command.weeks, now, TOP_LIMIT)
        is_lead = may_decide(session, workspace, user_id)
        return top_reply(themes, total, command.weeks, timezone(), is_lead)
    if isinstance(command, pain.Threshold):
        return _threshold(session, workspace, user_id, command, now)
    if isinstance(command, pain.Reaction):
        return _reaction(session, workspace, user_id, command)
    return _regroup(session, workspace, user_id, command, now)


def _regroup(
    session: Session, workspace: Workspace, user_id: str, command: pain.Command, now: datetime
) -> Reply:
    if isinstance(command, pain.Merge):
        theme, moved = pain.merge(session, workspace, user_id, command.number, command.into, now)
        title = escape(cut(pain.theme_title(session, theme), 150))
        points = "pain point" if moved == 1 else "pain points"
        return note(f"Moved {moved} {points} into the theme “{title}”.")
    if isinstance(command, pain.Split):
        point = pain.split(session, workspace, user_id, command.number, now)
        return note(f"#{point.number} is now a theme of its own.")
    assert isinstance(command, pain.NameTheme)
    pain.name_theme(session, workspace, user_id, command.number, command.name)
    return note(f"The theme of #{command.number} is now called “{escape(command.name)}”.")


def _list(session: Session, workspace: Workspace, statuses: Sequence[str], timezone: str) -> Reply:
    views, total = pain.list_points(session, workspace, statuses, LIST_LIMIT)
    label = ", ".join(pain.STATUS_LABELS[status] for status in statuses)
    if not views:
        return note(f"No pain points ({label}).", "Log one with `/pain &lt;text&gt;`.")
    tz = zone(timezone)
    lines = [
        f"*#{view.point.number}* {escape(cut(view.point.text, 200))} — "
        f"{len(view.people)} {'person' if len(view.people) == 1 else 'people'} · "
        f"{pain.STATUS_LABELS[view.theme.status]} · "
        f"{day_text(view.point.created_at.astimezone(tz), year=False)}"
        for view in views
    ]
    blocks: list[Block] = [header(f"Pain points ({cut(label, 100)})")]
    blocks += [section("\n".join(lines[start : start + 10])) for start in range(0, len(lines), 10)]
    if total > len(views):
        blocks.append(
            context(f"…and {total - len(views)} more. `/pain show &lt;n&gt;` for one of them.")
        )
    return Reply(f"{total} pain points ({label})", blocks)


def _threshold(
    session: Session, workspace: Workspace, user_id: str, command: pain.Threshold, now: datetime
) -> Reply:
    if command.people is not None and command.weeks is not None:
        pain.set_threshold(session, workspace, user_id, command.people, command.weeks, now)
    settings = pain.settings_of(session, workspace)
    weeks = "a week" if settings.threshold_weeks == 1 else f"{settings.threshold_weeks} weeks"
    people = "person" if settings.threshold_people == 1 else "people"
    return note(
        f"The leads hear of a theme when {settings.threshold_people} {people} hit it "
        f"within {weeks}.",
        "Change it with `/pain threshold &lt;people&gt; &lt;weeks&gt;`.",
    )


def _reaction(
    session: Session, workspace: Workspace, user_id: str, command: pain.Reaction
) -> Reply:
    if command.off or command.emoji:
        pain.set_reaction(session, workspace, user_id, None if command.off else command.emoji)
    reaction = pain.settings_of(session, workspace).reaction
    if reaction is None:
        return note(
            "Logging pain points by reaction is off.",
            "Turn it on with `/pain reaction :pain:` (any emoji works).",
        )
    return note(
        f"Reacting with :{reaction}: to a message logs it as a pain point.",
        "Change it with `/pain reaction &lt;emoji&gt;`, or `/pain reaction off`.",
    )


def _leads(
    session: Session, workspace: Workspace, user_id: str, command: pain.Leads, now: datetime
) -> Reply:
    if command.action == "add":
        added = add_leads(session, workspace, user_id, command.people, now)
        headline = (
            f"{mentions(added)} {'is now a lead' if len(added) == 1 else 'are now leads'}."
            if added
            else "They are leads already."
        )
    elif command.action == "remove":
        removed = [
            person for person in command.people if remove_lead(session, workspace, user_id, person)
        ]
        headline = (
            f"{mentions(removed)} "
            + ("is no longer a lead." if len(removed) == 1 else "are no longer leads.")
            if removed
            else "They were not leads."
        )
    else:
        headline = ""
    leads = lead_ids(session, workspace)
    listing = (
        f"Leads: {mentions(leads)}."
        if leads
        else "This workspace has no leads yet: anyone may name the first with "
        "`/pain leads add @someone`."
    )
    return note(
        f"{headline}\n{listing}".strip(), "Leads review pain points and change the settings."
    )


def _digest(
    session: Session,
    client: WebClient,
    services: Services,
    workspace: Workspace,
    channel_id: str,
    user_id: str,
    command: pain.Digest,
) -> Reply:
    now = services.now()
    if command.action == "show":
        timezone = user_timezone(session, client, workspace, user_id, now)
        window = digest.window_ending(workspace, channel_id, now, timezone)
        text, blocks = digest_view.build(session, window, services.digest_sections)
        schedule = digest.find_schedule(session, workspace, channel_id)
        blocks.append(context(escape(digest.describe_schedule(schedule))))
        return Reply(text, blocks)
    require_lead(session, workspace, user_id)
    schedule = digest.find_schedule(session, workspace, channel_id)
    if schedule is None:
        schedule = digest.ensure_schedule(
            session,
            workspace,
            channel_id,
            lambda: command.timezone or user_timezone(session, client, workspace, user_id, now),
            now,
        )
    weekday = None if command.action == "off" else command.weekday
    digest.set_schedule(session, schedule, weekday, command.minute, command.timezone, now)
    return note(
        escape(digest.describe_schedule(schedule)),
        "Change it with `/pain digest schedule &lt;day&gt; &lt;HH:MM&gt; [timezone]` "
        "or `/pain digest off`.",
    )


def _export(
    ack: Ack,
    respond: Callable[..., Any],
    services: Services,
    client: WebClient,
    workspace: Workspace,
    user_id: str,
) -> None:
    with services.session() as session:
        if not may_decide(session, workspace, user_id):
            answer_command(ack, respond, not_a_lead_reply(NotALead(lead_ids(session, workspace))))
            return
    ack(
        **note(
            "Preparing the CSV of every pain point; it arrives in our direct messages."
        ).as_message()
    )
    buffer = io.StringIO()
    with services.session() as session:
        count = pain.export_pain_points(session, "csv", buffer, workspace=workspace)
    day = f"{services.now():%Y-%m-%d}"
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            filename=f"pain-points-{day}.csv",
            title=f"Pain points, {day}",
            content=buffer.getvalue(),
            initial_comment=f"Every pain point of the workspace: {count} rows.",
        )
    except SlackApiError as error:
        log.warning("pain export upload failed: %s", error.response.get("error"))
        respond(response_type="ephemeral", text="Slack refused the CSV upload; try again later.")
