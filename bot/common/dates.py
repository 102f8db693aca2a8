"""The one way focusbot writes a day or a moment: `Tue 9 Feb 2027`, `Tue 9 Feb 2027 10:00`."""

from datetime import date, datetime


def day_text(day: date, *, year: bool = True) -> str:
    """Write a day: weekday, day of the month without a leading zero, month, and the year."""
    return f"{day:%a} {day.day} {day:%b}" + (f" {day:%Y}" if year else "")


def moment_text(moment: datetime, *, year: bool = True) -> str:
    """Write a moment (already in the reader's timezone) as its day and 24-hour time."""
    return f"{day_text(moment, year=year)} {moment:%H:%M}"
