"""Split an iCalendar text into its entries, and keep those that may occur in a window.

A calendar holds years of meetings, and a poll looks at three weeks. Reading the text of an entry
for its start, end and rule is cheap; parsing it into a component is not. So an entry that cannot
touch the window (a meeting of 2023, a series that ended last year) is left out before the parse.
Whatever cannot be told from the text is kept, for the parser to judge.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Wider than any UTC offset: times in any zone (or floating) are compared as if they were UTC.
MARGIN = timedelta(days=2)
_FOLD = re.compile(r"\r?\n[ \t]")
_PROPERTY = re.compile(r"(?P<name>[A-Za-z0-9-]+)(?P<params>;[^:]*)?:(?P<value>.*)")
_MOMENT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?")
_UNTIL = re.compile(r"UNTIL=([0-9T]+)", re.IGNORECASE)
_WATCHED = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "RECURRENCE-ID"})


@dataclass(frozen=True)
class Entries:
    """A calendar's own property lines, and the lines of each of its entries, unfolded."""

    header: list[str]
    entries: list[list[str]]

    def text(self) -> str:
        """Return the calendar as one iCalendar text."""
        lines = ["BEGIN:VCALENDAR", *self.header]
        for entry in self.entries:
            lines.extend(entry)
        lines.append("END:VCALENDAR")
        return "\r\n".join(lines) + "\r\n"


def split(text: str) -> Entries:
    """Split a calendar's text into its own properties and its top-level entries."""
    header: list[str] = []
    entries: list[list[str]] = []
    depth = 0
    for line in _FOLD.sub("", text).splitlines():
        upper = line[:6].upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                entries.append([])
        if depth >= 2:
            entries[-1].append(line)
        elif depth == 1 and line and not upper.startswith(("BEGIN:", "END:")):
            header.append(line)
        if upper.startswith("END:"):
            depth = max(depth - 1, 0)
    return Entries(header, entries)


def touching(entries: Entries, start: datetime, end: datetime) -> Entries:
    """Keep every entry but the events that cannot occur between start and end."""
    early, late = start - MARGIN, end + MARGIN
    kept = [entry for entry in entries.entries if _may_occur(entry, early, late)]
    return Entries(entries.header, kept)


def _may_occur(entry: list[str], early: datetime, late: datetime) -> bool:
    if entry[0].strip().upper() != "BEGIN:VEVENT":
        return True
    found: dict[str, tuple[str, str]] = {}
    for line in entry[1:]:
        match = _PROPERTY.match(line)
        if match is not None and (name := match["name"].upper()) in _WATCHED:
            found.setdefault(name, (match["params"] or "", match["value"]))
    if "RDATE" in found:
        return True
    starts = _moment(found.get("DTSTART", ("", ""))[1])
    if "RECURRENCE-ID" in found:
        params, value = found["RECURRENCE-ID"]
        replaced = _moment(value)
        if "THISANDFUTURE" in params.upper() or replaced is None or early <= replaced <= late:
            return True  # a change that reaches into the window, or hides an occurrence in it
    if starts is None:
        return True  # no readable start: the parser decides (and counts it if it is broken)
    if starts > late:
        return False
    if "RRULE" in found:
        until = _UNTIL.search(found["RRULE"][1])
        ends = _moment(until.group(1)) if until else None
        return ends is None or ends >= early
    if "DTEND" in found and (ends := _moment(found["DTEND"][1])) is not None:
        return ends >= early
    if "DURATION" in found:
        return True
    return starts >= early - timedelta(days=1)  # without an end, an entry lasts a day at most


def _moment(value: str) -> datetime | None:
    match = _MOMENT.match(value.strip())
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups("0"))
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
