"""Post the weekly focus check in a list's channel, and every team's week in a leads' channel."""

from collections.abc import Sequence
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot import focus
from bot.common.outbox import payload_of
from bot.focus import ListView
from bot.runtime.scheduler import Deliverer, ReadAhead
from bot.runtime.services import Services
from handlers.blocks import (
    as_dicts,
    context,
    escape_keeping_mentions,
    fallback,
    fit,
    header,
    section,
)
from handlers.focus.across import PRIVACY_NOTE, counted, team_section
from handlers.focus.conversations import SlackConversations
from handlers.focus.views import list_blocks, summary
from handlers.slack import int_value
from storage import focus as store
from storage.base import Workspace
from storage.schedule import ScheduledPost

MAX_TEAMS = 1000
POSTED_TEAMS = 25


def prepare_checkins(
    session: Session, posts: Sequence[ScheduledPost], services: Services
) -> Deliverer:
    """Read these check-ins' lists and their open items at once; return what posts each."""
    lists = store.lists_by_id(session, {_list_id(post) for post in posts})
    open_items = store.open_items_with_owners_of_lists(session, set(lists))

    def deliver(
        session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        """Post the weekly focus check and schedule the next one."""
        focus_list = lists.get(_list_id(post))
        if focus_list is None or focus_list.checkin_weekday is None:
            return
        if Workspace(focus_list.team_id, focus_list.enterprise_id) != _workspace(post):
            return
        now = services.now()
        view = focus.view_from(focus_list, open_items[_list_id(post)], now)
        client.chat_postMessage(
            channel=focus_list.channel_id,
            text=fallback(f"Weekly focus check. {summary(view)}"),
            blocks=as_dicts(fit(checkin_blocks(view, now))),
        )
        focus.schedule_next_checkin(session, focus_list, now)

    return deliver


deliver_checkin = ReadAhead(prepare_checkins)
"""Post the weekly focus check, reading for every check-in a delivery takes at once."""


def _list_id(post: ScheduledPost) -> int:
    return int_value(payload_of(post).get("list_id")) or 0


def _workspace(post: ScheduledPost) -> Workspace:
    return Workspace(post.team_id, post.enterprise_id)


def checkin_blocks(view: ListView, now: datetime) -> list[Block]:
    """Render the weekly focus check: stalled items first, then the list."""
    blocks: list[Block] = [header("Weekly focus check")]
    if view.stalled:
        weeks = view.focus_list.stall_weeks
        names = "\n".join(
            f"• *{item.number}.* {escape_keeping_mentions(item.text)} "
            f"— in focus {focus.in_focus_for(item.in_focus)}"
            for item in view.stalled
        )
        blocks.append(
            section(
                f":hourglass: *Worth talking about:* in focus longer than {weeks} weeks\n{names}"
            )
        )
    return blocks + list_blocks(view, now)


def deliver_across_post(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Post every public team's list and week, then schedule the next week's post."""
    now = services.now()
    workspace = Workspace(post.team_id, post.enterprise_id)
    settings_id = int_value(payload_of(post).get("settings_id")) or 0
    settings = store.get_across_post(session, workspace, settings_id)
    if settings is None or settings.weekday is None:
        return
    conversations = SlackConversations(services, client, workspace)
    # Everyone in the channel reads the post: only public channels' lists go in it.
    across = focus.across_teams(session, workspace, None, conversations, now, limit=MAX_TEAMS)
    weeks = [(team, focus.team_week(session, team.view, now)) for team in across.teams]
    active = [(team, week) for team, week in weeks if team.view.items or not week.is_quiet]
    stalled = sum(len(team.view.stalled) for team, _ in active)
    blocks: list[Block] = [
        header("Focus across teams this week"),
        context(
            f"{counted(len(active), 'team')} · {counted(stalled, 'stalled item')} · "
            "newest change first. "
            "Only public channels' lists are posted."
        ),
    ]
    blocks += [team_section(team, now, week=week) for team, week in active[:POSTED_TEAMS]]
    if len(active) > POSTED_TEAMS:
        blocks.append(
            context(
                f"…and {counted(len(active) - POSTED_TEAMS, 'more team')}. `/focus all` shows them."
            )
        )
    if not active:
        blocks.append(section("_No public team channel keeps a focus list yet._"))
    if across.unknown:
        blocks.append(
            context(
                f":lock: {counted(across.unknown, 'list')} left out: Slack could not tell "
                f"whether their channels are public. {PRIVACY_NOTE}"
            )
        )
    client.chat_postMessage(
        channel=settings.channel_id,
        text=f"Focus across teams this week: {counted(len(active), 'team')}.",
        blocks=as_dicts(fit(blocks)),
    )
    focus.schedule_next_across_post(session, settings, now)
