"""The DM about a meeting that falls in a team's maker time."""

from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlmodel import Session

from bot import maker
from bot.common.outbox import payload_of
from bot.maker import Span
from bot.runtime.services import Services
from handlers.blocks import context, escape, fallback, section
from handlers.maker.views import span_text
from storage.schedule import ScheduledPost


def deliver_conflict(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """DM a member about one meeting that falls in maker time, with the nearest window slots."""
    payload = payload_of(post)
    timezone = str(payload.get("timezone") or "UTC")
    meeting = Span(
        datetime.fromisoformat(str(payload["start"])), datetime.fromisoformat(str(payload["end"]))
    )
    summary = escape(str(payload.get("summary") or "a meeting"))
    team = payload.get("team_channel")
    whose = f"<#{team}>'s" if team else "your"
    lost = maker.hours(timedelta(minutes=int(payload.get("maker_minutes") or 0)))
    lines = [
        f":shield: “{summary}” on {span_text(meeting, timezone)} ({payload.get('people')} people) "
        f"takes *{lost}* of {whose} maker time."
    ]
    slots = [datetime.fromisoformat(str(start)) for start in payload.get("slots") or []]
    if slots:
        listed = "\n".join(
            f"• {span_text(Span(start, start + meeting.length), timezone)}" for start in slots
        )
        lines.append(f"*Nearest slots inside meeting windows:*\n{listed}")
    text = "\n".join(lines)
    client.chat_postMessage(
        channel=post.channel_id,
        text=fallback(f"“{summary}” falls in maker time."),
        blocks=[
            section(text).to_dict(),
            context("Could it move? Ask its organiser. I tell you once per meeting.").to_dict(),
        ],
    )
