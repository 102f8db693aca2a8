"""`/pain`, its buttons, the review modal, the message shortcut, the reaction and the digest."""

import io
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View
from sqlmodel import Session

from bot.common import digest
from bot.common.digest import DigestSectionBuilder
from bot.common.leads import NotALead, add_leads, lead_ids, may_decide, remove_lead, require_lead
from bot.common.mentions import plain_text
from bot.common.outbox import payload_of
from bot.common.people import timezone_of
from bot.common.recurrence import zone
from bot.pain import commands as pain
from bot.pain.commands import Logged, PainError, ThemeDemand, UsageError
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers import digest as digest_view
from handlers.blocks import MAX_VIEW_BLOCKS, context, cut, escape, header, section
from handlers.slack import (
    Reply,
    answer_command,
    int_value,
    note,
    services_of,
    timezone_fetcher,
    usage_reply,
    workspace_of,
)
from storage.base import Workspace
from storage.pain import STATUSES, PainStatusChange, PainTheme
from storage.people import find_person
from storage.schedule import ScheduledPost

log = logging.getLogger(__name__)

COMMAND = "/pain"
SAME_ACTION, SEPARATE_ACTION, REVIEW_ACTION = "pain_same", "pain_separate", "pain_review"
REVIEW_VIEW = "pain_review_view"
LOG_SHORTCUT = "pain_log_message"
THEME_BLOCK, STATUS_BLOCK, NOTE_BLOCK = (
    "pain_review_theme",
    "pain_review_status",
    "pain_review_note",
)
HINT = "Type `/pain help` for every command."
LIST_LIMIT = 20
TOP_LIMIT = 10
REVIEW_THEMES_SHOWN = 20
REVIEW_THEME_OPTIONS = 100
HOME_THEMES = 5


def register(app: App) -> None:
    """Register `/pain`, its buttons, the review modal, the shortcut and the reaction."""
    app.command(COMMAND)(on_pain_command)
    app.action(SAME_ACTION)(on_same_clicked)
    app.action(SEPARATE_ACTION)(on_separate_clicked)
    app.action(REVIEW_ACTION)(on_review_clicked)
    app.view(REVIEW_VIEW)(on_review_submitted)
    app.shortcut(LOG_SHORTCUT)(on_log_shortcut)
    app.event("reaction_added")(on_reaction_added)


# --- the command ------------------------------------------------------------------------------


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
        answer_command(ack, respond, usage(str(error)))
        return
    if isinstance(command, pain.Export):
        _export(ack, respond, services, client, workspace, user_id)
        return
    try:
        reply = _run(services, client, workspace, user_id, channel_id, command, body)
    except PainError as refusal:
        reply = note(escape(refusal.message), HINT)
    except NotALead as refusal:
        reply = _not_a_lead(refusal)
    if reply is None:
        ack()  # the review modal is open
    else:
        answer_command(ack, respond, reply)


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(pain.USAGE, problem)


def _not_a_lead(refusal: NotALead) -> Reply:
    leads = ", ".join(f"<@{lead}>" for lead in refusal.leads)
    return note(f"Only the workspace's leads may do that ({leads}). Nothing was changed.", HINT)


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
        return _open_review(services, client, workspace, user_id, command.number, body)
    with services.session() as session:
        if isinstance(command, pain.Log):
            logged = pain.log_pain(session, workspace, user_id, channel_id, command.text, now)
            _ensure_digest(session, client, workspace, channel_id, user_id, now)
            return logged_reply(logged)
        if isinstance(command, pain.Digest):
            return _digest(session, client, services, workspace, channel_id, user_id, command)
        if isinstance(command, pain.Leads):
            return _leads(session, workspace, user_id, command, now)
        return _answer(
            session,
            workspace,
            user_id,
            command,
            now,
            lambda: _timezone(session, client, workspace, user_id, now),
        )


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
        return _show(pain.view_point(session, workspace, command.number), timezone())
    if isinstance(command, pain.ListPoints):
        return _list(session, workspace, command.statuses, timezone())
    if isinstance(command, pain.Top):
        themes, total = pain.top_themes(session, workspace, command.weeks, now, TOP_LIMIT)
        is_lead = may_decide(session, workspace, user_id)
        return _top(themes, total, command.weeks, timezone(), is_lead)
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


def _timezone(
    session: Session, client: WebClient, workspace: Workspace, user_id: str, now: datetime
) -> str:
    return timezone_of(session, workspace, user_id, timezone_fetcher(client), now)


def _ensure_digest(
    session: Session,
    client: WebClient,
    workspace: Workspace,
    channel_id: str,
    user_id: str,
    now: datetime,
) -> None:
    if channel_id.startswith("D"):
        return  # a direct message is no team channel
    digest.ensure_schedule(
        session,
        workspace,
        channel_id,
        lambda: _timezone(session, client, workspace, user_id, now),
        now,
    )


# --- rendering --------------------------------------------------------------------------------


def logged_reply(logged: Logged) -> Reply:
    """Render a just-logged pain point, with the similar ones and what to do about them."""
    point = logged.point
    if logged.already_logged:
        return note(f"That message is already pain point #{point.number}.", HINT)
    headline = f"Logged pain point *#{point.number}*: “{escape(cut(point.text, 500))}”."
    blocks: list[Block] = [section(headline)]
    if logged.grouped:
        blocks.append(context("It joins a theme of the same complaint, where demand counts it."))
    if logged.similar:
        blocks.append(section("*Looks like the same complaint:*"))
    for similar in logged.similar:
        other = similar.point
        blocks.append(
            section(
                f"*#{other.number}* “{escape(cut(other.text, 300))}” · "
                f"{pain.STATUS_LABELS[similar.theme.status]}"
            )
        )
        blocks.append(
            ActionsBlock(
                block_id=f"pain_similar_{other.id}",
                elements=[
                    ButtonElement(
                        text="Same problem (+1)",
                        action_id=SAME_ACTION,
                        value=f"{point.id}:{other.id}",
                        style="primary",
                    )
                ],
            )
        )
    if logged.similar or logged.grouped:
        blocks.append(
            ActionsBlock(
                block_id=f"pain_new_{point.id}",
                elements=[
                    ButtonElement(
                        text="Keep separate", action_id=SEPARATE_ACTION, value=str(point.id)
                    )
                ],
            )
        )
    return Reply(f"Logged pain point #{point.number}: {escape(cut(point.text, 500))}", blocks)


def _show(view: pain.PointView, timezone: str) -> Reply:
    point, theme = view.point, view.theme
    tz = zone(timezone)
    people = ", ".join(f"<@{user_id}>" for user_id in view.people[:30])
    lines = [
        f"*#{point.number}* “{escape(point.text)}”",
        f"Reported by <@{point.reporter_id}> in <#{point.channel_id}> on "
        f"{point.created_at.astimezone(tz):%a %d %b %Y %H:%M}",
        f"Hit by {len(view.people)}: {people}",
        f"Theme: “{escape(cut(view.theme_title, 200))}” · {view.theme_people} "
        f"{'person' if view.theme_people == 1 else 'people'} · {pain.STATUS_LABELS[theme.status]}",
    ]
    if theme.note:
        lines.append(f"Note from the leads: {escape(theme.note)}")
    if point.permalink:
        lines.append(f"<{point.permalink}|Original message>")
    return Reply(f"Pain point #{point.number}: {escape(point.text)}", [section("\n".join(lines))])


def _list(session: Session, workspace: Workspace, statuses: Sequence[str], timezone: str) -> Reply:
    views, total = pain.list_points(session, workspace, statuses, LIST_LIMIT)
    label = ", ".join(pain.STATUS_LABELS[status] for status in statuses)
    if not views:
        return note(f"No pain points ({label}).", "Log one with `/pain &lt;text&gt;`.")
    tz = zone(timezone)
    lines = [
        f"*#{view.point.number}* {escape(cut(view.point.text, 200))} — "
        f"{len(view.people)} {'person' if len(view.people) == 1 else 'people'} · "
        f"{pain.STATUS_LABELS[view.theme.status]} · {view.point.created_at.astimezone(tz):%d %b}"
        for view in views
    ]
    blocks: list[Block] = [header(f"Pain points ({cut(label, 100)})")]
    blocks += [section("\n".join(lines[start : start + 10])) for start in range(0, len(lines), 10)]
    if total > len(views):
        blocks.append(
            context(f"…and {total - len(views)} more. `/pain show &lt;n&gt;` for one of them.")
        )
    return Reply(f"{total} pain points ({label})", blocks)


def theme_lines(demand: ThemeDemand, timezone: str) -> str:
    """Render a theme's demand: people, trend, first and last seen, status and a quote."""
    tz = zone(timezone)
    people = "person" if demand.people == 1 else "people"
    arrow = {"rising": ":arrow_upper_right:", "falling": ":arrow_lower_right:"}.get(
        demand.trend, ":arrow_right:"
    )
    return (
        f"*{escape(cut(demand.title, 150))}*\n"
        f"{demand.people} {people} · {arrow} {demand.trend} ({demand.previous} before) · "
        f"first seen {demand.first_seen.astimezone(tz):%d %b %Y}, "
        f"last seen {demand.last_seen.astimezone(tz):%d %b %Y} · "
        f"{pain.STATUS_LABELS[demand.theme.status]}\n"
        f"> #{demand.quote.number} {escape(cut(demand.quote.text, 200))}"
    )


def _top(themes: list[ThemeDemand], total: int, weeks: int, timezone: str, is_lead: bool) -> Reply:
    span = "week" if weeks == 1 else f"{weeks} weeks"
    if not themes:
        return note(
            f"Nobody reported a pain point in the last {span}.",
            "Log one with `/pain &lt;text&gt;`.",
        )
    blocks: list[Block] = [header(f"Top pain themes, last {span}")]
    blocks += [
        section(f"{rank}. " + theme_lines(demand, timezone))
        for rank, demand in enumerate(themes, start=1)
    ]
    if total > len(themes):
        blocks.append(context(f"…and {total - len(themes)} more themes."))
    blocks.append(context(f"People are counted once per theme. Trend: against the {span} before."))
    if is_lead:
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Review", action_id=REVIEW_ACTION, value="0")]
            )
        )
    return Reply(f"Top pain themes, last {span}", blocks)


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
            f"{_mentions(added)} {'is' if len(added) == 1 else 'are'} now a lead."
            if added
            else "They are leads already."
        )
    elif command.action == "remove":
        removed = [
            person for person in command.people if remove_lead(session, workspace, user_id, person)
        ]
        headline = f"{_mentions(removed)} no longer a lead." if removed else "They were not leads."
    else:
        headline = ""
    leads = lead_ids(session, workspace)
    listing = (
        f"Leads: {_mentions(leads)}."
        if leads
        else "This workspace has no leads yet: anyone may name the first with "
        "`/pain leads add @someone`."
    )
    return note(
        f"{headline}\n{listing}".strip(), "Leads review pain points and change the settings."
    )


def _mentions(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{user_id}>" for user_id in user_ids)


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
        timezone = _timezone(session, client, workspace, user_id, now)
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
            lambda: command.timezone or _timezone(session, client, workspace, user_id, now),
            now,
        )
    weekday = None if command.action == "off" else command.weekday
    digest.set_schedule(session, schedule, weekday, command.minute, command.timezone, now)
    return note(
        escape(digest.describe_schedule(schedule)),
        "Change it with `/pain digest schedule &lt;day&gt; &lt;HH:MM&gt; [timezone]` "
        "or `/pain digest off`.",
    )


# --- export -----------------------------------------------------------------------------------


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
            answer_command(ack, respond, _not_a_lead(NotALead(lead_ids(session, workspace))))
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


# --- buttons ----------------------------------------------------------------------------------


def on_same_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Count the new pain point as the same problem as the one clicked."""
    ack()
    services = services_of(context)
    workspace = workspace_of(body, context)
    new_raw, _, match_raw = str(action.get("value") or "").partition(":")
    new_id, match_id = int_value(new_raw), int_value(match_raw)

    def regroup() -> str:
        with services.session() as session:
            if new_id is None or match_id is None:
                raise PainError("That button is not one of mine.")
            new, match = pain.same_problem(
                session, workspace, body["user"]["id"], new_id, match_id, services.now()
            )
            return (
                f"Counted as the same problem as #{match.number} “{escape(cut(match.text, 200))}”. "
                f"#{new.number} joins its theme."
            )

    _answer_regrouping(respond, regroup)


def on_separate_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Keep the new pain point apart from the theme it was grouped into."""
    ack()
    services = services_of(context)
    workspace = workspace_of(body, context)
    point_id = int_value(action.get("value")) or 0

    def regroup() -> str:
        with services.session() as session:
            point = pain.keep_separate(
                session, workspace, body["user"]["id"], point_id, services.now()
            )
            return f"Kept #{point.number} separate: it is a theme of its own."

    _answer_regrouping(respond, regroup)


def _answer_regrouping(respond: Callable[..., Any], regroup: Callable[[], str]) -> None:
    """Regroup as clicked and replace the message with the outcome; refusals say why."""
    try:
        text = regroup()
    except PainError as refusal:
        text = escape(refusal.message)
    except NotALead:
        text = "Only the person who logged it, or a lead, may regroup this pain point."
        respond(replace_original=False, response_type="ephemeral", text=text)
        return
    respond(replace_original=True, text=text, blocks=[section(text).to_dict()])


# --- review -----------------------------------------------------------------------------------


def on_review_clicked(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Open the review modal for a lead; tell anyone else why not."""
    ack()
    services = services_of(context)
    reply = _open_review(
        services, client, workspace_of(body, context), body["user"]["id"], None, body
    )
    if reply is not None and (body.get("container") or {}).get("type") != "view":
        respond(replace_original=False, response_type="ephemeral", **reply.as_message())


def _open_review(
    services: Services,
    client: WebClient,
    workspace: Workspace,
    user_id: str,
    number: int | None,
    body: dict[str, Any],
) -> Reply | None:
    """Open the review modal and return None; or return why it cannot open."""
    now = services.now()
    with services.session() as session:
        if not may_decide(session, workspace, user_id):
            return _not_a_lead(NotALead(lead_ids(session, workspace)))
        selected = pain.point_numbered(session, workspace, number).theme_id if number else None
        themes = pain.themes_for_review(session, workspace, now, REVIEW_THEME_OPTIONS)
        timezone = _timezone(session, client, workspace, user_id, now)
    if not themes:
        return note("There is nothing to review yet: no pain point has been logged.", HINT)
    try:
        client.views_open(
            trigger_id=body["trigger_id"], view=review_modal(themes, selected, timezone)
        )
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        return note("Slack did not open the review; try again.", HINT)
    return None


def review_modal(themes: list[ThemeDemand], selected: int | None, timezone: str) -> View:
    """Return the review modal: themes with demand and quotes, then a status and a note to set."""
    blocks: list[Block] = [
        section(f"{rank}. " + theme_lines(demand, timezone))
        for rank, demand in enumerate(themes[:REVIEW_THEMES_SHOWN], start=1)
    ]
    if len(themes) > REVIEW_THEMES_SHOWN:
        blocks.append(
            context(f"…and {len(themes) - REVIEW_THEMES_SHOWN} more themes to pick from.")
        )
    options = [
        Option(
            text=cut(f"{rank}. {demand.title}", 75),
            value=str(demand.theme.id),
        )
        for rank, demand in enumerate(themes[:REVIEW_THEME_OPTIONS], start=1)
    ]
    chosen = next(
        (o for o, d in zip(options, themes, strict=False) if d.theme.id == selected), None
    )
    chosen_theme = next((d.theme for d in themes if d.theme.id == selected), None)
    statuses = [Option(text=pain.STATUS_LABELS[status], value=status) for status in STATUSES]
    current_status = next(
        (o for o in statuses if chosen_theme is not None and o.value == chosen_theme.status), None
    )
    blocks += [
        InputBlock(
            block_id=THEME_BLOCK,
            label="Theme",
            element=StaticSelectElement(
                action_id="theme",
                placeholder="Pick a theme",
                options=options,
                initial_option=chosen,
            ),
        ),
        InputBlock(
            block_id=STATUS_BLOCK,
            label="Status",
            element=StaticSelectElement(
                action_id="status",
                placeholder="Pick a status",
                options=statuses,
                initial_option=current_status,
            ),
        ),
        InputBlock(
            block_id=NOTE_BLOCK,
            label="Note for the people who reported it",
            optional=True,
            element=PlainTextInputElement(
                action_id="note",
                multiline=True,
                max_length=pain.MAX_NOTE_LENGTH,
                initial_value=chosen_theme.note if chosen_theme and chosen_theme.note else None,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=REVIEW_VIEW,
        title=PlainTextObject(text="Review pain points"),
        submit=PlainTextObject(text="Set status"),
        close=PlainTextObject(text="Close"),
        blocks=blocks[:MAX_VIEW_BLOCKS],
    )


def on_review_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    """Set the picked theme's status and note; everyone who reported it gets a DM."""
    services = services_of(context)
    workspace = workspace_of(body, context)
    actor = body["user"]["id"]
    values = (view.get("state") or {}).get("values") or {}
    theme_id = int_value(_selected(values, THEME_BLOCK, "theme"))
    status = _selected(values, STATUS_BLOCK, "status")
    note_text = " ".join(
        plain_text(
            str(((values.get(NOTE_BLOCK) or {}).get("note") or {}).get("value") or "")
        ).split()
    )
    if theme_id is None:
        ack(response_action="errors", errors={THEME_BLOCK: "Pick a theme."})
        return
    try:
        with services.session() as session:
            pain.set_status(session, workspace, actor, theme_id, status, note_text, services.now())
    except NotALead:
        ack(
            response_action="errors",
            errors={THEME_BLOCK: "Only the workspace's leads may set a status."},
        )
        return
    except PainError as refusal:
        ack(response_action="errors", errors={STATUS_BLOCK: cut(refusal.message, 150)})
        return
    ack()


def _selected(values: dict[str, Any], block_id: str, action_id: str) -> str:
    element = (values.get(block_id) or {}).get(action_id) or {}
    return str((element.get("selected_option") or {}).get("value") or "")


# --- the shortcut and the reaction ------------------------------------------------------------


def on_log_shortcut(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    respond: Callable[..., Any],
) -> None:
    """Log the message the shortcut was used on; its author is the reporter."""
    ack()
    services = services_of(context)
    workspace = workspace_of(body, context)
    message = body.get("message") or {}
    channel_id = (body.get("channel") or {}).get("id") or ""
    actor = body["user"]["id"]
    reply = _log_message(services, client, workspace, channel_id, message, actor, "shortcut")
    respond(response_type="ephemeral", **reply.as_message())


def on_reaction_added(
    event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Log a message as a pain point when someone reacts with the workspace's pain emoji."""
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    services = services_of(context)
    workspace = workspace_of(body, context)
    with services.session() as session:
        reaction = pain.settings_of(session, workspace).reaction
    if reaction is None or event.get("reaction") != reaction:
        return
    channel_id, ts, actor = (
        str(item.get("channel") or ""),
        str(item.get("ts") or ""),
        event.get("user") or "",
    )
    message = _fetch_message(client, channel_id, ts)
    if message is None:
        return
    reply = _log_message(services, client, workspace, channel_id, message, actor, "reaction")
    try:
        client.chat_postEphemeral(channel=channel_id, user=actor, **reply.as_message())
    except SlackApiError as error:
        log.warning(
            "could not confirm a pain point logged by reaction: %s", error.response.get("error")
        )


def _fetch_message(client: WebClient, channel_id: str, ts: str) -> dict[str, Any] | None:
    try:
        found = client.conversations_history(channel=channel_id, latest=ts, inclusive=True, limit=1)
        messages = [m for m in found.get("messages") or [] if m.get("ts") == ts]
        if not messages:  # a reply in a thread is not in the channel's history
            found = client.conversations_replies(channel=channel_id, ts=ts, inclusive=True, limit=1)
            messages = [m for m in found.get("messages") or [] if m.get("ts") == ts]
    except SlackApiError as error:
        log.warning("could not read the reacted message: %s", error.response.get("error"))
        return None
    return messages[0] if messages else None


def _log_message(
    services: Services,
    client: WebClient,
    workspace: Workspace,
    channel_id: str,
    message: dict[str, Any],
    actor: str,
    source: str,
) -> Reply:
    text = " ".join(plain_text(str(message.get("text") or "")).split())
    if not text:
        return note("That message has no text to log as a pain point.", HINT)
    ts = str(message.get("ts") or "")
    reporter = str(message.get("user") or actor)
    permalink = _permalink(client, channel_id, ts)
    now = services.now()
    try:
        with services.session() as session:
            logged = pain.log_pain(
                session,
                workspace,
                reporter,
                channel_id,
                cut(text, pain.MAX_TEXT_LENGTH),
                now,
                source=source,
                logged_by=actor,
                permalink=permalink,
                message_ts=ts or None,
            )
            _ensure_digest(session, client, workspace, channel_id, actor, now)
    except PainError as refusal:
        return note(escape(refusal.message), HINT)
    return logged_reply(logged)


def _permalink(client: WebClient, channel_id: str, ts: str) -> str | None:
    if not ts:
        return None
    try:
        link = client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except SlackApiError as error:
        log.warning("chat.getPermalink failed: %s", error.response.get("error"))
        return None
    return str(link) if link else None


# --- direct messages, the Home tab, the digest ------------------------------------------------


def deliver_dm(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Tell a lead of a theme that crossed the threshold, or a reporter of a new status."""
    payload = payload_of(post)
    if payload.get("about") == "threshold":
        text = _threshold_dm(session, payload)
    else:
        text = _status_dm(session, payload)
    if text:
        client.chat_postMessage(
            channel=post.channel_id, text=text, blocks=[section(text).to_dict()]
        )


def _threshold_dm(session: Session, payload: dict[str, Any]) -> str:
    theme = session.get(PainTheme, int_value(payload.get("theme_id")) or 0)
    if theme is None:
        return ""
    people = [str(person) for person in payload.get("people") or []]
    return (
        f":chart_with_upwards_trend: Demand is growing: {len(people)} people hit "
        f"“{escape(cut(pain.theme_title(session, theme), 200))}” — {_mentions(people[:20])}. "
        "Review it with `/pain review`."
    )


def _status_dm(session: Session, payload: dict[str, Any]) -> str:
    change = session.get(PainStatusChange, int_value(payload.get("change_id")) or 0)
    if change is None:
        return ""
    theme = session.get(PainTheme, change.theme_id)
    if theme is None:
        return ""
    text = (
        f"A pain point you reported is now *{pain.STATUS_LABELS[change.status]}*: "
        f"“{escape(cut(pain.theme_title(session, theme), 200))}” (set by <@{change.actor_id}>)."
    )
    return text + (f"\nNote: {escape(change.note)}" if change.note else "")


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the top themes and, for leads, a Review button."""
    now = services.now()
    blocks: list[Block] = [header("Pain points")]
    with services.session() as session:
        themes, total = pain.top_themes(
            session, workspace, pain.DEFAULT_TOP_WEEKS, now, HOME_THEMES
        )
        is_lead = may_decide(session, workspace, user_id)
        timezone = store_timezone(session, workspace, user_id)
    if not themes:
        blocks.append(
            section("No pain points lately. Log one in a channel with `/pain &lt;text&gt;`.")
        )
    blocks += [section(theme_lines(demand, timezone)) for demand in themes]
    if total > len(themes):
        blocks.append(context(f"…and {total - len(themes)} more themes: `/pain top`."))
    if is_lead and themes:
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Review", action_id=REVIEW_ACTION, value="0")]
            )
        )
    return blocks


def store_timezone(session: Session, workspace: Workspace, user_id: str) -> str:
    """Return the person's cached timezone without asking Slack (UTC when unknown)."""
    person = find_person(session, workspace, user_id)
    return person.timezone if person is not None else "UTC"


DELIVERERS: dict[str, Deliverer] = {
    pain.DM_KIND: deliver_dm,
    digest.DIGEST_KIND: digest_view.deliver_digest,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = pain.DIGEST_SECTIONS
