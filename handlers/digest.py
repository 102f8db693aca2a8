"""The weekly ML sync digest in Slack: every feature's sections, within Block Kit's limits."""

from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot.common import digest
from bot.common.dates import day_text
from bot.common.digest import DigestLine, DigestSection, DigestSectionBuilder, DigestWindow
from bot.common.outbox import payload_of
from bot.common.recurrence import zone
from bot.runtime.scheduler import Deliverer, ReadAhead
from bot.runtime.services import Services
from handlers.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    as_dicts,
    context,
    escape,
    escape_keeping_mentions,
    fallback,
    fit,
    header,
)
from handlers.blocks import section as section_block
from handlers.slack import int_value
from storage.base import Workspace
from storage.digest import DigestSchedule
from storage.schedule import ScheduledPost

LINES_PER_SECTION = 10
MAX_LINE_LENGTH = 280


def digest_blocks(sections: Sequence[DigestSection], window: DigestWindow) -> list[Block]:
    """Render the digest: a header, then each section's first lines and how many more there are."""
    tz = zone(window.timezone)
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    span = f"{day_text(start, year=False)} – {day_text(end)}"
    blocks: list[Block] = [header("Weekly ML sync digest"), context(escape(span))]
    if not sections:
        blocks.append(section_block("_A quiet week: nothing new to report._"))
    for part in sections:
        blocks.append(section_block(_section_text(part)))
    return fit(blocks, MAX_MESSAGE_BLOCKS)


def _section_text(part: DigestSection) -> str:
    title = f"*{escape(part.title)}*"
    shown = [_line_text(line) for line in part.lines[:LINES_PER_SECTION]]
    more = len(part.lines) - len(shown)
    suffix = f"\n_…and {more} more_" if more else ""
    text = "\n".join([title, *shown])
    while len(text) + len(suffix) > MAX_SECTION_TEXT and shown:
        shown.pop()
        more += 1
        suffix = f"\n_…and {more} more_"
        text = "\n".join([title, *shown])
    return text + suffix


def _line_text(line: DigestLine) -> str:
    text = escape_keeping_mentions(line.text)
    if len(text) > MAX_LINE_LENGTH:
        text = text[: MAX_LINE_LENGTH - 1] + "…"
    people = ", ".join(f"<@{user_id}>" for user_id in line.people[:10])
    if len(line.people) > 10:
        people += f" and {len(line.people) - 10} more"
    return f"• {text}" + (f" — {people}" if people else "")


def summary(sections: Sequence[DigestSection]) -> str:
    """Return the digest's notification text."""
    if not sections:
        return "Weekly ML sync digest: a quiet week."
    parts = ", ".join(f"{escape(part.title)} ({len(part.lines)})" for part in sections)
    return f"Weekly ML sync digest: {parts}"


def build(
    session: Session, window: DigestWindow, builders: Sequence[DigestSectionBuilder]
) -> tuple[str, list[Block]]:
    """Build the digest of a window: its notification text and its blocks."""
    sections = digest.build_digest(session, window, builders)
    return summary(sections), digest_blocks(sections, window)


def prepare_digests(
    session: Session, posts: Sequence[ScheduledPost], services: Services
) -> Deliverer:
    """Read every section's data for these posts' digests at once; return what posts each."""
    schedules = digest.schedules_by_id(session, (_schedule_id(post) for post in posts))
    windows = {
        post.id: _window(post, schedule)
        for post in posts
        if (schedule := schedules.get(_schedule_id(post))) is not None
    }
    builders = digest.read_ahead(session, list(windows.values()), services.digest_sections)

    def deliver(
        session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        """Post a channel's weekly digest for the week up to now, and schedule the next one."""
        schedule = schedules.get(_schedule_id(post))
        if schedule is None or schedule.weekday is None:
            return
        text, blocks = build(session, windows[post.id], builders)
        client.chat_postMessage(
            channel=schedule.channel_id,
            text=fallback(text),
            blocks=as_dicts(blocks),
        )
        digest.schedule_next(session, schedule, services.now())

    return deliver


def _schedule_id(post: ScheduledPost) -> int:
    return int_value(payload_of(post).get("schedule_id")) or 0


def _window(post: ScheduledPost, schedule: DigestSchedule) -> DigestWindow:
    workspace = Workspace(schedule.team_id, schedule.enterprise_id)
    return digest.window_ending(workspace, schedule.channel_id, post.due_at, schedule.timezone)


deliver_digest = ReadAhead(prepare_digests)
"""Post a channel's weekly digest, reading for every digest a delivery takes at once."""
