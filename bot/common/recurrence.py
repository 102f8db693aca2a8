"""Weekly recurring times, computed in a team's timezone so they survive daylight saving."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


TIMEZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,3}")
MAX_TIMEZONE_NAME = 64


def zone(name: str) -> ZoneInfo:
    """Return the timezone by IANA name, falling back to UTC for an unknown one."""
    return _known_zone(name) or ZoneInfo("UTC")


def is_known_timezone(name: str) -> bool:
    """Tell whether the name is an IANA timezone this machine knows."""
    return _known_zone(name) is not None


def _known_zone(name: str) -> ZoneInfo | None:
    # Checked before ZoneInfo sees it: a long name fails with OSError (file name too long).
    if len(name) > MAX_TIMEZONE_NAME or not TIMEZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_moment(day: date, minute_of_day: int, timezone: str) -> datetime:
    """Return the UTC instant of a local wall-clock time on a day."""
    wall = datetime.combine(
        day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=zone(timezone)
    )
    # fold=0: a time skipped by spring-forward lands after the gap; a repeated one, the first time.
    return wall.astimezone(UTC)


def next_weekly(after: datetime, weekday: int, minute_of_day: int, timezone: str) -> datetime:
    """Return the first UTC instant strictly after `after` at that local weekday and time."""
    local_today = after.astimezone(zone(timezone)).date()
    day = local_today + timedelta(days=(weekday - local_today.weekday()) % 7)
    moment = local_moment(day, minute_of_day, timezone)
    while moment <= after:
        day += timedelta(days=7)
        moment = local_moment(day, minute_of_day, timezone)
    return moment


def parse_weekday(word: str) -> int | None:
    """Read a weekday name or its first three letters; None when it is not one."""
    word = word.strip().lower()
    if len(word) < 3:
        return None
    for index, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return index
    return None


def parse_clock(word: str) -> int | None:
    """Read a 24-hour `HH:MM` time as minutes after midnight; None when it is not one."""
    hours, sep, minutes = word.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        return None
    return h * 60 + m


def format_clock(minute_of_day: int) -> str:
    """Write minutes after midnight as `HH:MM`."""
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"
