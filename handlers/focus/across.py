"""Focus across teams in Slack: `/focus all`, `team`, `follow`, `digest` and the Home section."""

from collections.abc import Collection
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, SectionBlock
from sqlmodel import Session

from bot import focus
from bot.common.caller import Caller
from bot.common.people import timezone_of
from bot.focus import Across, TeamView, TeamWeek
from bot.runtime.services import Services
from handlers.blocks import context, cut, escape_keeping_mentions, header, section
from handlers.focus.conversations import conversations_for
from handlers.focus.views import list_blocks, people
from handlers.slack import Reply, note, timezone_fetcher
from storage import focus as store
from storage.base import Workspace

ACROSS_COMMANDS = (focus.AllTeams, focus.ShowTeam, focus.Follow, focus.AcrossPost)
ALL_TEAMS_SHOWN = 20
HOME_TEAMS_SHOWN = 6
ITEM_TEXT_SHOWN = 120
WEEK_TEXTS_SHOWN = 5
PRIVACY_NOTE = "A private channel's list, or a personal one, shows only to the people in it."


def run_across(
    services: Services,
    session: Session,
    client: WebClient,
    caller: Caller,
    command: focus.Command,
    now: datetime,
) -> Reply:
    """Show every team's list, one team's list, follow a team, or set the weekly post."""
    conversations = conversations_for(services, caller.workspace, client)
    if isinstance(command, focus.AllTeams):
        across = focus.across_teams(
            session, caller.workspace, caller.user_id, conversations, now, limit=ALL_TEAMS_SHOWN
        )
        return _all_teams_reply(across, now)
    if isinstance(command, focus.AcrossPost):
        return _across_post_reply(session, client, caller, command, now)
    assert isinstance(command, focus.ShowTeam | focus.Follow)
    channel = f"<#{command.channel_id}>"
    if isinstance(command, focus.Follow) and command.stop:
        if focus.unfollow(session, caller.workspace, command.channel_id, caller.user_id):
            return note(f"You no longer follow {channel}'s focus list.")
        return note(f"You don't follow {channel}'s focus list.")
    focus_list = focus.visible_list(
        session, caller.workspace, command.channel_id, caller.user_id, conversations
    )
    if isinstance(command, focus.Follow):
        if not focus.follow(session, focus_list, caller.user_id, now):
            return note(f"You already follow {channel}'s focus list.")
        return note(
            f"You now follow {channel}'s focus list: it comes first under "
            "*Across teams* on your Home tab.",
            f"Stop with `/focus unfollow {channel}`.",
        )
    view = focus.view_of(session, focus_list, now)
    blocks = list_blocks(view, now, buttons=False)
    blocks.append(
        context(
            f"Read-only: the team changes it with `/focus` in {channel}. "
            f"`/focus follow {channel}` puts it first on your Home tab."
        )
    )
    return Reply(f"Focus in {channel}", blocks)


def home_across_section(
    services: Services, workspace: Workspace, user_id: str, skip: Collection[int]
) -> list[Block]:
    """Render the Home tab's "Across teams": followed teams first, then the newest changes."""
    now = services.now()
    conversations = conversations_for(services, workspace)
    with services.session() as session:
        first = focus.followed(session, workspace, user_id)
        across = focus.across_teams(
            session,
            workspace,
            user_id,
            conversations,
            now,
            limit=HOME_TEAMS_SHOWN,
            first=first,
            skip=set(skip) - set(first),
        )
    blocks: list[Block] = [header("Across teams")]
    if not across.teams:
        blocks.append(section("_No other team keeps a focus list you can see yet._"))
    blocks += [
        team_section(team, now, following=team.view.focus_list.id in first) for team in across.teams
    ]
    blocks += _left_out(across, "`/focus all` shows every team.")
    blocks.append(
        context("Follow a team with `/focus follow #channel`: followed teams come first.")
    )
    return blocks


def team_section(
    team: TeamView, now: datetime, *, following: bool = False, week: TeamWeek | None = None
) -> SectionBlock:
    """Render one team's list in a single block: its items, owners, time in focus, stalls."""
    view = team.view
    focus_list = view.focus_list
    where = "A personal list" if focus_list.is_personal else f"<#{focus_list.channel_id}>"
    changed = focus.in_focus_for(now - team.last_change)
    changed = "changed today" if changed == "today" else f"changed {changed} ago"
    pin = " · :pushpin: following" if following else ""
    lines = [f"*{where}* · {len(view.items)} of {focus_list.cap} · {changed}{pin}"]
    lines += [
        f"{item.number}. {escape_keeping_mentions(cut(item.text, ITEM_TEXT_SHOWN))} — "
        f"{people(item.owners)}"
        f" · {focus.in_focus_for(item.in_focus)}"
        + (" · :hourglass: *stalled*" if item.stalled else "")
        for item in view.items
    ]
    if not view.items:
        lines.append("_Nothing in focus._")
    if week is not None:
        lines += _week_lines(week)
    return section("\n".join(lines))


def counted(count: int, thing: str) -> str:
    """Say how many of a thing there are: "1 team", "3 teams"."""
    return f"{count} {thing}" + ("" if count == 1 else "s")


def _all_teams_reply(across: Across, now: datetime) -> Reply:
    title = f"Focus across teams: {counted(len(across.teams) + across.more, 'team')}"
    blocks: list[Block] = [header("Focus across teams")]
    if not across.teams:
        blocks.append(
            section(
                "No team keeps a focus list you can see yet. "
                "Start one in a team channel with `/focus add &lt;text&gt;`."
            )
        )
    blocks += [team_section(team, now) for team in across.teams]
    blocks += _left_out(across, "`/focus team #channel` shows one of them.")
    blocks.append(context(f"Newest change first. {PRIVACY_NOTE}"))
    return Reply(title, blocks)


def _left_out(across: Across, hint: str) -> list[Block]:
    blocks: list[Block] = []
    if across.more:
        blocks.append(context(f"…and {counted(across.more, 'more team')}. {hint}"))
    if across.unknown:
        lists = "list is" if across.unknown == 1 else "lists are"
        blocks.append(
            context(
                f":lock: {across.unknown} more {lists} hidden: Slack could not tell me "
                "whether you may see them. Try again in a minute."
            )
        )
    return blocks


def _week_lines(week: TeamWeek) -> list[str]:
    if week.is_quiet:
        return ["_This week: nothing finished, added or dropped._"]
    return [
        f"_{label} this week:_ " + _texts(texts)
        for label, texts in (
            ("Finished", week.finished),
            ("Added", week.added),
            ("Dropped", week.dropped),
        )
        if texts
    ]


def _texts(texts: tuple[str, ...]) -> str:
    shown = "; ".join(escape_keeping_mentions(cut(text, 80)) for text in texts[:WEEK_TEXTS_SHOWN])
    more = len(texts) - WEEK_TEXTS_SHOWN
    return shown + (f"; …and {more} more" if more > 0 else "")


def _across_post_reply(
    session: Session, client: WebClient, caller: Caller, command: focus.AcrossPost, now: datetime
) -> Reply:
    hint = (
        "Set it with `/focus digest here &lt;day&gt; &lt;HH:MM&gt; [timezone]`, "
        "stop it with `/focus digest off`."
    )
    if command == focus.AcrossPost():
        found = store.find_across_post(session, caller.workspace, caller.channel_id)
        return note(focus.describe_across_post(found), hint)
    timezone = timezone_of(session, caller.workspace, caller.user_id, timezone_fetcher(client), now)
    settings = focus.set_across_post(
        session, caller.workspace, caller.channel_id, command, timezone, now
    )
    extra = "" if command.off else " It never shows private channels' or personal lists."
    return note(focus.describe_across_post(settings) + extra, hint)
