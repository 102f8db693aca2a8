"""Direct messages about pain points: a theme that crossed the threshold, a new status."""

from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from bot import pain
from bot.common.outbox import payload_of
from bot.runtime.services import Services
from handlers.blocks import cut, escape, fallback, section
from handlers.pain.views import mentions
from handlers.slack import int_value
from storage.pain import PainStatusChange, PainTheme
from storage.schedule import ScheduledPost


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
            channel=post.channel_id, text=fallback(text), blocks=[section(text).to_dict()]
        )


def _threshold_dm(session: Session, payload: dict[str, Any]) -> str:
    theme = session.get(PainTheme, int_value(payload.get("theme_id")) or 0)
    if theme is None:
        return ""
    people = [str(person) for person in payload.get("people") or []]
    return (
        f":chart_with_upwards_trend: Demand is growing: {len(people)} people hit "
        f"“{escape(cut(pain.theme_title(session, theme), 200))}” — {mentions(people[:20])}. "
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
