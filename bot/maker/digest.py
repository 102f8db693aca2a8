"""Maker time kept: how much of it stayed free of meetings, as a digest section."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common.digest import (
    BatchedSection,
    DigestLine,
    DigestSection,
    DigestSectionBuilder,
    DigestWindow,
    places_of,
    span_of,
)
from bot.maker.schedule import (
    MEETING_PEOPLE,
    Span,
    TeamSchedule,
    find_schedule,
    schedule_of,
    spans_between,
)
from storage import maker as store
from storage.base import Workspace
from storage.maker import MakerCalendar, MakerMeeting


@dataclass(frozen=True)
class Kept:
    """How much of a team's maker time stayed free of meetings, and who took the rest."""

    maker_time: timedelta
    in_meetings: timedelta
    calendars: int
    sources: tuple[tuple[str, timedelta, int], ...]

    @property
    def share(self) -> float:
        """Return the share of maker time kept, from 0 to 1."""
        if not self.maker_time:
            return 1.0
        return 1 - self.in_meetings / self.maker_time


def maker_time_kept(
    session: Session, workspace: Workspace, channel_id: str, start: datetime, end: datetime
) -> Kept | None:
    """Measure a team's maker time kept over a stretch; None without a schedule or calendars."""
    schedule = find_schedule(session, workspace, channel_id)
    calendars = store.calendars_of_channel(session, workspace, channel_id)
    if schedule is None or not calendars:
        return None
    meetings = {
        calendar.id: store.meetings_between(session, [calendar.id], start, end)
        for calendar in calendars
        if calendar.id is not None
    }
    return kept_of(schedule, calendars, meetings, start, end)


def kept_of(
    schedule: TeamSchedule,
    calendars: Sequence[MakerCalendar],
    meetings: Mapping[int, Sequence[MakerMeeting]],
    start: datetime,
    end: datetime,
) -> Kept:
    """Measure maker time kept over a stretch from the team's calendars and their meetings."""
    _, maker = spans_between(schedule, start, end)
    per_person = sum((span.length for span in maker), timedelta(0))
    lost = timedelta(0)
    sources: dict[str, tuple[timedelta, int]] = {}
    for calendar in calendars:
        assert calendar.id is not None
        held = [
            m
            for m in meetings.get(calendar.id, ())
            if m.people >= MEETING_PEOPLE and m.start < end and m.end > start
        ]
        lost += _covered(maker, [Span(m.start, m.end) for m in held])
        for meeting in held:
            cost = sum(
                (part.overlap(Span(meeting.start, meeting.end)) for part in maker), timedelta(0)
            )
            if cost:
                source = meeting.organizer or "no organizer named"
                total, count = sources.get(source, (timedelta(0), 0))
                sources[source] = (total + cost, count + 1)
    ranked = sorted(sources.items(), key=lambda item: (-item[1][0], item[0]))
    return Kept(
        maker_time=per_person * len(calendars),
        in_meetings=lost,
        calendars=len(calendars),
        sources=tuple((name, cost, count) for name, (cost, count) in ranked),
    )


def _covered(maker: Sequence[Span], meetings: Sequence[Span]) -> timedelta:
    total = timedelta(0)
    for part in maker:
        cursor = part.start
        for meeting in sorted(meetings, key=lambda m: m.start):
            start, end = max(meeting.start, cursor), min(meeting.end, part.end)
            if end > start:
                total += end - start
                cursor = end
    return total


def describe_kept(kept: Kept) -> list[str]:
    """Say, in plain lines, how much maker time was kept and where the meetings came from."""
    calendars = "1 linked calendar" if kept.calendars == 1 else f"{kept.calendars} linked calendars"
    lines = [
        f"Maker time kept: {kept.share:.0%} ({hours(kept.maker_time - kept.in_meetings)} of "
        f"{hours(kept.maker_time)}, {calendars})"
    ]
    for name, cost, count in kept.sources[:5]:
        meetings = "1 meeting" if count == 1 else f"{count} meetings"
        lines.append(f"Meetings in maker time from {name}: {hours(cost)} ({meetings})")
    return lines


def hours(duration: timedelta) -> str:
    """Write a duration as `3h 15m`, `45m` or `2h`."""
    minutes = int(duration.total_seconds() // 60)
    whole, rest = divmod(minutes, 60)
    if not whole:
        return f"{rest}m"
    return f"{whole}h" if not rest else f"{whole}h {rest}m"


def _read(session: Session, windows: Sequence[DigestWindow]) -> DigestSectionBuilder:
    """Read the digests' team channels' schedules, calendars and the meetings of their weeks."""
    places = places_of(windows)
    schedules = store.schedules_in(session, places)
    calendars = store.calendars_of_channels(session, places)
    calendar_ids = {c.id for listed in calendars.values() for c in listed if c.id is not None}
    meetings: dict[int, list[MakerMeeting]] = defaultdict(list)
    for meeting in store.meetings_between(session, sorted(calendar_ids), *span_of(windows)):
        meetings[meeting.calendar_id].append(meeting)

    def digest_section(_session: Session, window: DigestWindow) -> DigestSection | None:
        """Return the week's "maker time kept" figure for the digest."""
        place = (window.workspace, window.channel_id)
        row, team_calendars = schedules.get(place), calendars.get(place)
        if row is None or not team_calendars:
            return None
        kept = kept_of(schedule_of(row), team_calendars, meetings, window.start, window.end)
        return DigestSection(
            "Maker time", tuple(DigestLine(line) for line in describe_kept(kept)), order=40
        )

    return digest_section


digest_section = BatchedSection(_read)
