"""Read the target dates people type: `2027-03-01`, "end of march", "in 10 weeks", "Q2"."""

import calendar
import re
from datetime import date, timedelta

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MAX_YEARS_AHEAD = 10
EXAMPLES = "`2027-03-01`, `end of march`, `march 15`, `in 10 weeks`, `in 3 months` or `Q2 2027`"

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_IN = re.compile(r"^in\s+(\d{1,3}|a|an|one)\s+(day|week|month|year)s?$")
_QUARTER = re.compile(r"^(?:end\s+of\s+)?q([1-4])(?:\s+(\d{4}))?$")
_MONTH = re.compile(r"^(?:end\s+of\s+)?([a-z]+)(?:\s+(\d{4}))?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)(?:\s+(\d{4}))?$")
_MONTH_DAY = re.compile(r"^([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?(?:\s+(\d{4}))?$")
_END_OF_YEAR = re.compile(r"^end\s+of\s+(?:the\s+)?year$")


class TargetDateError(ValueError):
    """The text is not a future date focusbot can read; the message says what would work."""


def parse_target(text: str, today: date) -> date:
    """Read a target date relative to `today` (the team's local date); it is always in the future.

    Dates without a year ("end of march", "Q2", "march 15") mean the next one still ahead.
    """
    words = " ".join(text.lower().replace(",", " ").split())
    if not words:
        raise TargetDateError(f"Give a target date, for example {EXAMPLES}.")
    found = _read(words, today)
    if found is None:
        raise TargetDateError(f"I can't read “{_quote(text)}” as a date. Try {EXAMPLES}.")
    target, year_given = found
    if target <= today and not year_given:
        target = _next_year(target)
    if target <= today:
        raise TargetDateError(
            f"{target.isoformat()} is not in the future: a target lies ahead. Try {EXAMPLES}."
        )
    if target > _add_months(today, 12 * MAX_YEARS_AHEAD):
        raise TargetDateError(
            f"{target.isoformat()} is more than {MAX_YEARS_AHEAD} years away: pick a nearer target."
        )
    return target


def _read(words: str, today: date) -> tuple[date, bool] | None:
    """Return the date the words name and whether they gave its year; None when unreadable."""
    if match := _ISO.match(words):
        return _safe_date(int(match[1]), int(match[2]), int(match[3]), True)
    if match := _IN.match(words):
        count = int(match[1]) if match[1].isdecimal() else 1
        return _in(today, count, match[2]), True
    if _END_OF_YEAR.match(words):
        return date(today.year, 12, 31), False
    if match := _QUARTER.match(words):
        year = int(match[2]) if match[2] else today.year
        return _end_of_month(year, int(match[1]) * 3), match[2] is not None
    if (match := _MONTH.match(words)) and (month := month_number(match[1])):
        year = int(match[2]) if match[2] else today.year
        return _end_of_month(year, month), match[2] is not None
    if (match := _DAY_MONTH.match(words)) and (month := month_number(match[2])):
        return _safe_date(_year(match[3], today), month, int(match[1]), match[3] is not None)
    if (match := _MONTH_DAY.match(words)) and (month := month_number(match[1])):
        return _safe_date(_year(match[3], today), month, int(match[2]), match[3] is not None)
    return None


def month_number(word: str) -> int | None:
    """Return 1-12 for a month's name or its first three (or more) letters; None otherwise."""
    if len(word) < 3:
        return None
    for number, name in enumerate(MONTHS, start=1):
        if name.startswith(word):
            return number
    return None


def _in(today: date, count: int, unit: str) -> date:
    if unit == "day":
        return today + timedelta(days=count)
    if unit == "week":
        return today + timedelta(weeks=count)
    return _add_months(today, count * (12 if unit == "year" else 1))


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _next_year(day: date) -> date:
    if day.month == 2 and day.day >= 28:
        return _end_of_month(day.year + 1, 2)
    return day.replace(year=day.year + 1)


def _year(raw: str | None, today: date) -> int:
    return int(raw) if raw else today.year


def _safe_date(year: int, month: int, day: int, year_given: bool) -> tuple[date, bool] | None:
    try:
        return date(year, month, day), year_given
    except ValueError:
        return None


def _quote(text: str) -> str:
    return text.strip()[:60].replace("`", "'")
