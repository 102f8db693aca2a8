"""The regrouping buttons and the leads' review modal."""

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import pain
from bot.common.leads import NotALead, lead_ids, may_decide
from bot.common.mentions import plain_text
from bot.pain import PainError, ThemeDemand
from bot.runtime.services import Services
from handlers.blocks import MAX_VIEW_BLOCKS, context, cut, escape, fallback, section
from handlers.pain.views import HINT, not_a_lead_reply, theme_lines, user_timezone
from handlers.slack import Reply, int_value, note, services_of, workspace_of
from storage.base import Workspace
from storage.pain import STATUSES

log = logging.getLogger(__name__)

REVIEW_VIEW = "pain_review_view"
THEME_BLOCK, STATUS_BLOCK, NOTE_BLOCK = (
    "pain_review_theme",
    "pain_review_status",
    "pain_review_note",
)
REVIEW_THEMES_SHOWN = 20
REVIEW_THEME_OPTIONS = 100


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
    point_raw, _, shown_raw = str(action.get("value") or "").partition(":")
    point_id = int_value(point_raw) or 0
    shown = [int_value(raw) for raw in shown_raw.split(",") if raw]

    def regroup() -> str:
        with services.session() as session:
            if None in shown:
                raise PainError("That button is not one of mine.")
            point = pain.keep_separate(
                session,
                workspace,
                body["user"]["id"],
                point_id,
                services.now(),
                [shown_id for shown_id in shown if shown_id is not None],
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
        respond(replace_original=False, response_type="ephemeral", text=fallback(text))
        return
    respond(replace_original=True, text=fallback(text), blocks=[section(text).to_dict()])


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
    reply = open_review(
        services, client, workspace_of(body, context), body["user"]["id"], None, body
    )
    if reply is not None and (body.get("container") or {}).get("type") != "view":
        respond(replace_original=False, response_type="ephemeral", **reply.as_message())


def open_review(
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
            return not_a_lead_reply(NotALead(lead_ids(session, workspace)))
        selected = pain.point_numbered(session, workspace, number).theme_id if number else None
        themes = pain.themes_for_review(session, workspace, now, REVIEW_THEME_OPTIONS)
        timezone = user_timezone(session, client, workspace, user_id, now)
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
