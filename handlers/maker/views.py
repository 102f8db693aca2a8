"""`/maker` answers: the schedule, a meeting check and free slots, as Block Kit."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import maker
from bot.common.recurrence import WEEKDAYS, format_clock, zone
from bot.maker import Span, TeamSchedule
from handlers.blocks import context, escape, section
from handlers.slack import Reply


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


def schedule_reply(
    schedule: TeamSchedule, team_channel: str | None, timezone: str, now: datetime, done: str = ""
) -> Reply:
    """Show the team's schedule: whether now is maker time, and today's and tomorrow's windows."""
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


def check_reply(schedule: TeamSchedule, check: maker.Check, timezone: str) -> Reply:
    """Say whether a meeting cuts into maker time or is long or big, with nearer slots."""
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


def slots_reply(
    schedule: TeamSchedule,
    command: maker.Slots,
    slots: Sequence[Span],
    calendars: int,
    timezone: str,
) -> Reply:
    """List the free slots inside meeting windows, and whose calendars they respect."""
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
