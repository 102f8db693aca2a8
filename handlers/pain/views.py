"""Render pain points and their themes for Slack: replies, theme lines, the Home tab."""

from collections.abc import Sequence
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from sqlmodel import Session

from bot import pain
from bot.common.dates import day_text, moment_text
from bot.common.leads import NotALead, may_decide
from bot.common.people import timezone_of
from bot.common.recurrence import zone
from bot.pain import Logged, ThemeDemand
from bot.runtime.services import Services
from handlers.blocks import context, cut, escape, header, section
from handlers.slack import Reply, note, timezone_fetcher, usage_reply
from storage.base import Workspace
from storage.people import find_person

SAME_ACTION, SEPARATE_ACTION, REVIEW_ACTION = "pain_same", "pain_separate", "pain_review"
HINT = "Type `/pain help` for every command."
HOME_THEMES = 5


def usage(problem: str = "") -> Reply:
    """Return the usage text, after the problem with what was typed, if any."""
    return usage_reply(pain.USAGE, problem)


def not_a_lead_reply(refusal: NotALead) -> Reply:
    """Say that only the leads may do that, and who they are."""
    leads = ", ".join(f"<@{lead}>" for lead in refusal.leads)
    return note(f"Only the workspace's leads may do that ({leads}). Nothing was changed.", HINT)


def user_timezone(
    session: Session, client: WebClient, workspace: Workspace, user_id: str, now: datetime
) -> str:
    """Return the person's timezone, asking Slack when it is not known yet."""
    return timezone_of(session, workspace, user_id, timezone_fetcher(client), now)


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
                        text="Keep separate",
                        action_id=SEPARATE_ACTION,
                        value=":".join(
                            [str(point.id), ",".join(str(s.point.id) for s in logged.similar)]
                        ),
                    )
                ],
            )
        )
    return Reply(f"Logged pain point #{point.number}: {escape(cut(point.text, 500))}", blocks)


def point_reply(view: pain.PointView, timezone: str) -> Reply:
    """Render one pain point with its theme and the people who hit it."""
    point, theme = view.point, view.theme
    tz = zone(timezone)
    people = ", ".join(f"<@{user_id}>" for user_id in view.people[:30])
    lines = [
        f"*#{point.number}* “{escape(point.text)}”",
        f"Reported by <@{point.reporter_id}> in <#{point.channel_id}> on "
        f"{moment_text(point.created_at.astimezone(tz))}",
        f"Hit by {len(view.people)}: {people}",
        f"Theme: “{escape(cut(view.theme_title, 200))}” · {view.theme_people} "
        f"{'person' if view.theme_people == 1 else 'people'} · {pain.STATUS_LABELS[theme.status]}",
    ]
    if theme.note:
        lines.append(f"Note from the leads: {escape(theme.note)}")
    if point.permalink:
        lines.append(f"<{point.permalink}|Original message>")
    return Reply(f"Pain point #{point.number}: {escape(point.text)}", [section("\n".join(lines))])


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
        f"first seen {day_text(demand.first_seen.astimezone(tz))}, "
        f"last seen {day_text(demand.last_seen.astimezone(tz))} · "
        f"{pain.STATUS_LABELS[demand.theme.status]}\n"
        f"> #{demand.quote.number} {escape(cut(demand.quote.text, 200))}"
    )


def top_reply(
    themes: list[ThemeDemand], total: int, weeks: int, timezone: str, is_lead: bool
) -> Reply:
    """Render the themes most people hit over some weeks; leads get a Review button."""
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


def mentions(user_ids: Sequence[str]) -> str:
    """Mention these people, comma-separated."""
    return ", ".join(f"<@{user_id}>" for user_id in user_ids)


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
