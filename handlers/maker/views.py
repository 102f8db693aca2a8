"""`/maker`, its Home section, its digest figure and its calendar watch, in Slack."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.ack import Ack
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot import maker
from bot.common.digest import DigestSectionBuilder
from bot.common.leads import NotALead, require_lead
from bot.common.outbox import payload_of
from bot.common.people import timezone_of
from bot.common.recurrence import WEEKDAYS, format_clock, zone
from bot.maker import MakerError, Span, TeamSchedule, UsageError
from bot.runtime import metrics
from bot.runtime.scheduler import Deliverer
from bot.runtime.services import Services
from handlers.blocks import context, escape, fallback, header, section
from handlers.maker_chart import kept_chart_reply
from handlers.slack import (
    Reply,
    answer_command,
    int_value,
    note,
    services_of,
    timezone_fetcher,
    usage_error_reply,
    usage_reply,
    workspace_of,
)
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerCalendar
from storage.schedule import ScheduledPost

COMMAND = "/maker"
HINT = "Type `/maker help` for every command."
HOME_TEAM_LIMIT = 3


def register(app: App) -> None:
    """Register the `/maker` command."""
    app.command(COMMAND)(on_maker_command)


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
                return _calendar(
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
        return _schedule_reply(updated, channel_id, timezone, now, "Saved. ")
    schedule, team_channel = maker.schedule_for(session, workspace, channel_id, user_id, timezone)
    if isinstance(command, maker.Show):
        return _schedule_reply(schedule, team_channel, timezone, now)
    horizon = now + timedelta(days=maker.SEARCH_DAYS + 7)
    busy, calendars = maker.busy_of_team(session, workspace, team_channel, user_id, now, horizon)
    if isinstance(command, maker.CheckCommand):
        start = maker.resolve_when(command.when, timezone, now)
        check = maker.check_meeting(schedule, start, command.duration, command.attendees, busy, now)
        return _check_reply(schedule, check, timezone)
    assert isinstance(command, maker.Slots)
    until = now + timedelta(days=command.days)
    slots = maker.free_slots(schedule, now, until, command.duration, busy, maker.LISTED_SLOTS)
    return _slots_reply(schedule, command, slots, calendars, timezone)


# --- rendering ---------------------------------------------------------------------------------


def when(moment: datetime, timezone: str) -> str:
    """Write a moment as `Tue 1 Dec 10:30` in a timezone."""
    local = moment.astimezone(zone(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def span_text(span: Span, timezone: str) -> str:
    """Write a stretch as `Tue 1 Dec 10:30–11:15` in a timezone."""
    return f"{when(span.start, timezone)}–{span.end.astimezone(zone(timezone)):%H:%M}"


def _clock(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zone(timezone)):%H:%M}"


def _where(team_channel: str | None) -> str:
    return f"<#{team_channel}>" if team_channel else "no team channel yet, so the defaults"


def _schedule_reply(
    schedule: TeamSchedule, team_channel: str | None, timezone: str, now: datetime, done: str = ""
) -> Reply:
    today = now.astimezone(zone(timezone)).date()
    days = [today, today + timedelta(days=1)]
    windows = maker.windows_on_days(schedule, days, timezone)
    state = maker.now_state(schedule, now)
    lines = [f"*{done}Maker time* · {_where(team_channel)}", _now_line(state, timezone)]
    for label, day in (("Today", days[0]), ("Tomorrow", days[1])):
        spans = windows[day]
        listed = " · ".join(f"{_clock(s.start, timezone)}–{_clock(s.end, timezone)}" for s in spans)
        lines.append(f"*{label}* ({day:%a} {day.day} {day:%b}): {listed or 'no meeting windows'}")
    return Reply(
        " ".join(lines[:2]), [section("\n".join(lines)), context(_rules(schedule, timezone))]
    )


def _now_line(state: maker.Now, timezone: str) -> str:
    until = f" until {when(state.until, timezone)}" if state.until else ""
    if state.state == "maker":
        return f":hammer_and_wrench: Now is *maker time*{until}: keep it for deep work."
    if state.state == "window":
        return f":calendar: Now is a *meeting window*{until}."
    nxt = f"; the day starts {when(state.until, timezone)}" if state.until else ""
    return f":zzz: Now is outside the working day{nxt}."


def _rules(schedule: TeamSchedule, timezone: str) -> str:
    free = ", ".join(WEEKDAYS[d].capitalize() for d in sorted(schedule.meeting_free)) or "none"
    parts = [
        f"Times in your timezone ({escape(timezone)})",
        f"team timezone {escape(schedule.timezone)}",
        f"working day {format_clock(schedule.day[0])}–{format_clock(schedule.day[1])} Mon–Fri",
        f"meeting-free days: {free}",
        f"a meeting is long from {maker.hours(timedelta(minutes=schedule.long_minutes))} "
        f"and big from {schedule.big_attendees} people",
        "scheduled posts wait for the next window"
        if schedule.defer_posts
        else "scheduled posts are not held back",
    ]
    suffix = (
        " · Defaults: no lead has set this team's schedule yet (`/maker set …`)."
        if schedule.is_default
        else ""
    )
    return " · ".join(parts) + suffix


def _check_reply(schedule: TeamSchedule, check: maker.Check, timezone: str) -> Reply:
    duration = maker.hours(check.meeting.length)
    meeting = f"{span_text(check.meeting, timezone)} ({duration}, your time)"
    if check.maker_time:
        headline = (
            f":warning: {meeting} cuts *{maker.hours(check.maker_time)}* into the team's "
            "maker time."
        )
    elif check.outside_day:
        headline = f":zzz: {meeting} falls outside the working day."
    else:
        headline = f":white_check_mark: {meeting} fits inside a meeting window."
    lines = [headline]
    if check.is_long:
        lines.append(
            f":hourglass: Long: over the team's {schedule.long_minutes} minutes. "
            "Could it be shorter?"
        )
    if check.is_big:
        lines.append(
            f":busts_in_silhouette: Big: {check.attendees} people, over the team's "
            f"{schedule.big_attendees}. Could fewer come, or could it be a written update?"
        )
    if check.maker_time or check.outside_day:
        lines.append(_suggestions(schedule, check, timezone))
    return Reply(headline, [section("\n".join(lines)), context(_rules(schedule, timezone))])


def _suggestions(schedule: TeamSchedule, check: maker.Check, timezone: str) -> str:
    if check.slots:
        listed = "\n".join(f"• {span_text(slot, timezone)}" for slot in check.slots)
        return f"*Nearest slots inside meeting windows:*\n{listed}"
    longest = maker.longest_window(schedule)
    if check.meeting.length > longest:
        return (
            f"No meeting window is long enough: the longest is {maker.hours(longest)}. "
            "Split the meeting or shorten it."
        )
    return "No free slot in the meeting windows near then."


def _slots_reply(
    schedule: TeamSchedule,
    command: maker.Slots,
    slots: Sequence[Span],
    calendars: int,
    timezone: str,
) -> Reply:
    span = "day" if command.days == 1 else f"{command.days} days"
    title = f"Free {maker.hours(command.duration)} slots in meeting windows, next {span}"
    if slots:
        body = "\n".join(f"• {span_text(slot, timezone)}" for slot in slots)
    elif command.duration > maker.longest_window(schedule):
        body = (
            f"No meeting window is long enough: the longest is "
            f"{maker.hours(maker.longest_window(schedule))}."
        )
    else:
        body = "No free slot: every window is taken."
    who = (
        f"Only slots where all {calendars} linked calendars are free."
        if calendars > 1
        else "Only slots where the linked calendar is free."
        if calendars == 1
        else "No calendars linked: slots ignore people's calendars (`/maker calendar` in a DM)."
    )
    return Reply(title, [section(f"*{title}*\n{body}"), context(f"{who} Times in {timezone}.")])


def _calendar(
    session: Session,
    workspace: Workspace,
    user_id: str,
    channel_id: str,
    command: maker.CalendarCommand,
    now: datetime,
    allow_private: bool,
) -> Reply:
    if command.off:
        removed = maker.unlink_calendar(session, workspace, user_id, channel_id)
        return note(
            "Unlinked your calendar and forgot what I had read from it."
            if removed
            else "No calendar was linked.",
        )
    if command.address is not None:
        maker.link_calendar(
            session,
            workspace,
            user_id,
            channel_id,
            command.address,
            now,
            allow_private=allow_private,
        )
        shown = maker.calendar_status(session, workspace, user_id).shown_address
        return note(
            f"Linked your calendar ({escape(shown)}). I read it every "
            f"{int(maker.POLL_EVERY.total_seconds() // 60)} minutes and DM you once when a "
            "meeting with others falls in your team's maker time.",
            "The address stays private: I only read it. Unlink it with `/maker calendar off`.",
        )
    return note(_status_text(maker.calendar_status(session, workspace, user_id)))


def _status_text(status: maker.CalendarStatus) -> str:
    if not status.linked:
        return (
            "No calendar linked. In your DM with me, link your calendar's private iCal address "
            "with `/maker calendar &lt;address&gt;` and I'll warn you about meetings in maker time."
        )
    read = "not read yet" if status.last_read_at is None else "read"
    problem = (
        f" :warning: The last reading failed: {escape(status.problem)}." if status.problem else ""
    )
    unreadable = (
        f" {status.unreadable} of its entries could not be read; the rest is watched."
        if status.unreadable
        else ""
    )
    linked = f"Your calendar ({escape(status.shown_address)}) is linked and {read}."
    return linked + problem + unreadable


# --- Home and digest ---------------------------------------------------------------------------


def home_section(services: Services, workspace: Workspace, user_id: str) -> list[Block]:
    """Render the person's teams' maker time now and kept this week, and their calendar."""
    now = services.now()
    blocks: list[Block] = [header("Maker time")]
    with services.session() as session:
        rows = store.schedules_of_member(session, workspace, user_id)[:HOME_TEAM_LIMIT]
        lines = []
        for row in rows:
            schedule = maker.schedule_of(row)
            state = maker.now_state(schedule, now)
            line = f"<#{row.channel_id}> · {_state_word(state)}"
            kept = maker.maker_time_kept(
                session, workspace, row.channel_id, now - timedelta(days=7), now
            )
            if kept is not None:
                line += f" · kept this week: *{kept.share:.0%}*"
            lines.append(line)
        status = maker.calendar_status(session, workspace, user_id)
    if not lines:
        lines.append(
            "No team schedule yet. A lead sets one with `/maker set …` in the team channel."
        )
    blocks.append(section("\n".join(lines)))
    blocks.append(context(_status_text(status)))
    return blocks


def _state_word(state: maker.Now) -> str:
    return {"maker": "maker time now", "window": "meeting window now"}.get(
        state.state, "outside the working day"
    )


# --- deliverers --------------------------------------------------------------------------------


def deliver_poll(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Queue the calendar's next reading and hand this one to a background worker.

    The feed is fetched off the tick and with no database session open, so a slow calendar
    server delays nothing but its own reading; the worker stores what it read in a short
    transaction of its own.
    """
    now = services.now()
    workspace = Workspace(post.team_id, post.enterprise_id)
    calendar = session.get(MakerCalendar, int_value(payload_of(post).get("calendar_id")) or 0)
    if calendar is None or (calendar.team_id, calendar.enterprise_id) != (
        workspace.team_id,
        workspace.enterprise_id,
    ):
        return
    timezone = timezone_of(session, workspace, calendar.user_id, timezone_fetcher(client), now)
    reading = maker.begin_reading(session, calendar, timezone, now)
    allow_private = services.settings.calendar_private_addresses
    services.background.submit(
        (maker.POLL_KIND, reading.calendar_id), lambda: _read(services, reading, allow_private)
    )


def _read(services: Services, reading: maker.Reading, allow_private: bool) -> None:
    outcome = maker.read_feed(reading, allow_private=allow_private)
    with services.session() as session:
        maker.finish_reading(session, reading, outcome)
    metrics.calendar_polled(failed=outcome.problem is not None)


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


def deliver_broken_feed(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Tell a member, once, that their calendar cannot be read (and that I keep trying)."""
    problem = escape(str(payload_of(post).get("problem") or "it could not be read"))
    text = (
        f":warning: I can't read your linked calendar: {problem}. I keep trying every "
        f"{int(maker.POLL_EVERY.total_seconds() // 60)} minutes and won't tell you again until "
        "it works. Link a new address with `/maker calendar &lt;address&gt;` or stop with "
        "`/maker calendar off`."
    )
    client.chat_postMessage(
        channel=post.channel_id, text=fallback(text), blocks=[section(text).to_dict()]
    )


def deliver_partly_read(
    session: Session, post: ScheduledPost, client: WebClient, services: Services
) -> None:
    """Tell a member, once per change, how many entries of their calendar could not be read."""
    text = f":warning: {_unreadable_text(int_value(payload_of(post).get('unreadable')) or 0)}"
    client.chat_postMessage(channel=post.channel_id, text=text, blocks=[section(text).to_dict()])


def _unreadable_text(unreadable: int) -> str:
    entries = "1 entry" if unreadable == 1 else f"{unreadable} entries"
    return (
        f"{entries} in your calendar could not be read; the rest is watched. "
        "I'll tell you again only if that number changes."
    )


DELIVERERS: dict[str, Deliverer] = {
    maker.POLL_KIND: deliver_poll,
    maker.CONFLICT_KIND: deliver_conflict,
    maker.BROKEN_FEED_KIND: deliver_broken_feed,
    maker.PARTLY_READ_KIND: deliver_partly_read,
}
DIGEST_SECTIONS: tuple[DigestSectionBuilder, ...] = (maker.digest_section,)
