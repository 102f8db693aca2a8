"""Read a member's iCal feed (RFC 5545): every entry that can be read, expanded in one range query.

Calendars come from Google, Outlook/Exchange, Thunderbird and many more, and some hold an entry
that no reader understands. One such entry must not cost the person every warning: it is skipped
and counted, and the rest of the calendar is watched. Only what is not a calendar at all is refused.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component

from bot.common.recurrence import zone
from bot.maker.entries import Entries, split, touching
from bot.maker.feeds import FeedError

MAX_OCCURRENCES = 5_000
MAX_OCCURRENCES_OF_ONE_ENTRY = 1_000
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# Properties an occurrence is computed from; an entry with any of them broken cannot be read.
TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")
RULE_PROPERTIES = ("RRULE", "RDATE", "EXDATE")


@dataclass(frozen=True)
class Occurrence:
    """One timed occurrence of an event: when, how many people, who organised it."""

    key: str
    start: datetime
    end: datetime
    people: int
    organizer: str
    summary: str


@dataclass(frozen=True)
class Expansion:
    """The busy occurrences of a window, and how many entries of the calendar could not be read."""

    occurrences: list[Occurrence]
    unreadable: int


def calendar_address(text: str) -> str:
    """Return the feed address to store; raise ValueError for anything but an http(s) URL."""
    address = text.strip().strip("<>").split("|", 1)[0].strip()
    if address.lower().startswith("webcal://"):
        address = "https://" + address[len("webcal://") :]
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in address:
        raise ValueError("not an http(s) address")
    if "@" in parts.netloc:
        raise ValueError("carries a user name or password")
    _ = parts.port  # raises ValueError for a port that is not a number
    if len(address) > 2000:
        raise ValueError("too long")
    return address


def expand(body: bytes, start: datetime, end: datetime, default_timezone: str) -> Expansion:
    """Return the timed, busy occurrences between start and end, recurrences expanded."""
    body = body.lstrip().removeprefix(BYTE_ORDER_MARK).lstrip()
    if not body[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise FeedError("the address does not serve an iCalendar file")
    entries = touching(split(body.decode("utf-8", "replace")), start, end)
    calendar, unreadable = _parse(entries)
    unreadable += _drop_unreadable_events(calendar)
    _name_every_entry(calendar)
    calendar = _standard(calendar)
    floating = zone(default_timezone)
    events, failed = _occurrences_between(calendar, start, end)
    found = [_occurrence(event, floating) for event in events if _is_busy(event)]
    timed = [o for o in found if o is not None and o.start < end]
    return Expansion(sorted(timed, key=lambda o: (o.start, o.summary, o.key)), unreadable + failed)


def _parse(entries: Entries) -> tuple[Calendar, int]:
    """Parse the calendar; if that fails, parse it entry by entry and count the entries lost."""
    try:
        calendar = Calendar.from_ical(entries.text())
        assert isinstance(calendar, Calendar)
        return calendar, 0
    except Exception:  # a malformed entry in any of a hundred ways; find which below
        pass
    calendar = _calendar_from(entries.header)
    unreadable = 0
    for lines in entries.entries:
        try:
            calendar.add_component(Component.from_ical("\r\n".join(lines) + "\r\n"))
        except Exception:  # this entry is lost; the others are still read
            unreadable += lines[0].strip().upper() == "BEGIN:VEVENT"
    return calendar, unreadable


def _calendar_from(header: list[str]) -> Calendar:
    try:
        calendar = Calendar.from_ical(Entries(header, []).text())
    except Exception:  # the calendar's own properties are unreadable: read its entries anyway
        return Calendar()
    assert isinstance(calendar, Calendar)
    return calendar


def _drop_unreadable_events(calendar: Calendar) -> int:
    """Remove the events no occurrence can be computed from; return how many."""
    kept = [c for c in calendar.subcomponents if c.name != "VEVENT" or _readable(c)]
    dropped = len(calendar.subcomponents) - len(kept)
    calendar.subcomponents = kept
    return dropped


def _name_every_entry(calendar: Calendar) -> None:
    """Give each entry a UID of its own, so that the expansion keeps every one.

    An entry without a UID is named by its content. Two entries that share a UID without being
    one's change of the other (RECURRENCE-ID) are two meetings: the recurring one keeps the UID
    (its changes refer to it), the other is named by its content too.
    """
    named: set[str] = set()
    events = sorted(calendar.walk("VEVENT"), key=lambda event: "RRULE" not in event)
    for event in events:
        uid = event.get("UID")
        if uid is None:
            event.add("UID", f"content-{_content_hash(event)}")
        elif "RECURRENCE-ID" not in event:
            if str(uid) in named:
                event["UID"] = f"{uid} content-{_content_hash(event)}"
            named.add(str(uid))


def _readable(event: Component) -> bool:
    needed = TIME_PROPERTIES + RULE_PROPERTIES
    if any(str(name).upper() in needed for name, _ in getattr(event, "errors", ())):
        return False
    values = [event.get(name) for name in TIME_PROPERTIES]
    if values[0] is None or any(isinstance(value, list) for value in values):
        return False  # no start, or two starts: which one would it be?
    try:
        _ = [value.dt for value in values if value is not None]
    except Exception:  # a property that parsed but has no usable value
        return False
    return True


def _content_hash(event: Component) -> str:
    """Identify an event without a UID by what it says (its stamp changes with every export)."""
    lines = [
        line
        for line in event.to_ical().decode("utf-8", "replace").splitlines()
        if not line.upper().startswith("DTSTAMP")
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def _standard(calendar: Calendar) -> Calendar:
    """Apply a calendar-wide X-WR-TIMEZONE (Google's exports) where it can be applied."""
    try:
        return x_wr_timezone.to_standard(calendar)
    except Exception:  # an odd zone name: the events keep their own times
        return calendar


def _occurrences_between(
    calendar: Calendar, start: datetime, end: datetime
) -> tuple[list[Any], int]:
    """Expand each series with one range query; skip (and count) the series that fail."""
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
    except recurring_ical_events.InvalidCalendar:
        raise FeedError("the calendar does not use the Gregorian calendar") from None
    series_expected = len({str(event.get("UID")) for event in calendar.walk("VEVENT")})
    failed = max(series_expected - len(query.series), 0)  # refused while being built
    events: list[Any] = []
    for series in query.series:
        try:
            found = list(islice(series.between(start, end), MAX_OCCURRENCES_OF_ONE_ENTRY + 1))
            if len(found) > MAX_OCCURRENCES_OF_ONE_ENTRY:
                failed += 1  # a rule that floods the window (every minute, say) is not a meeting
                continue
            events.extend(occurrence.as_component(False) for occurrence in found)
        except Exception:  # one broken series costs only itself
            failed += 1
            continue
        if len(events) > MAX_OCCURRENCES:
            raise FeedError(f"the calendar has more than {MAX_OCCURRENCES:,} events in three weeks")
    return events, failed


def _is_busy(event: Any) -> bool:
    status = str(event.get("STATUS", "")).upper()
    transparency = str(event.get("TRANSP", "OPAQUE")).upper()
    return status != "CANCELLED" and transparency != "TRANSPARENT"


def _occurrence(event: Any, floating: tzinfo) -> Occurrence | None:
    start = event.get("DTSTART")
    end = event.get("DTEND")
    if start is None or not isinstance(start.dt, datetime):
        return None  # all-day events mark days (holidays, trips), not meetings
    starts = _aware(start.dt, floating)
    if end is not None and isinstance(end.dt, datetime):
        ends = _aware(end.dt, floating)
    elif event.get("DURATION") is not None:
        ends = starts + event.get("DURATION").dt
    else:
        ends = starts
    if ends <= starts:
        return None
    return Occurrence(
        key=_key(event, starts, floating),
        start=starts,
        end=ends,
        people=_people(event),
        organizer=_organizer(event),
        summary=str(event.get("SUMMARY", "")).strip()[:200],
    )


def _key(event: Any, starts: datetime, floating: tzinfo) -> str:
    """Identify an occurrence: its entry (UID) and which recurrence it is (its original start).

    A change to this and future occurrences (RANGE=THISANDFUTURE) gives all of them its own
    RECURRENCE-ID, so their start tells them apart. Entries without a UID, or sharing one, were
    given UIDs of their own before the expansion.
    """
    recurrence = event.get("RECURRENCE-ID")
    original = _moment(recurrence.dt, floating) if recurrence is not None else starts
    identity = f"{event.get('UID', '')}|{original.isoformat()}"
    if (
        recurrence is not None
        and str(recurrence.params.get("RANGE", "")).upper() == "THISANDFUTURE"
    ):
        identity += f"|{starts.isoformat()}"
    return hashlib.sha256(identity.encode()).hexdigest()


def _aware(moment: datetime, floating: tzinfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=floating)
    return moment.astimezone(UTC)


def _moment(value: datetime | date, floating: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return _aware(value, floating)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _addresses(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(item).lower().removeprefix("mailto:") for item in values if item is not None]


def _people(event: Any) -> int:
    attendees = event.get("ATTENDEE")
    people = set(_addresses(attendees)) if attendees is not None else set()
    organizer = event.get("ORGANIZER")
    if organizer is not None:
        people.update(_addresses(organizer))
    return len(people)


def _organizer(event: Any) -> str:
    organizer = event.get("ORGANIZER")
    if organizer is None:
        return ""
    name = organizer.params.get("CN") if hasattr(organizer, "params") else None
    return str(name or str(organizer).lower().removeprefix("mailto:"))[:200]
