"""Calendars as people have them: broken entries, byte order marks, Exchange rules, odd UIDs."""

from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

import pytest
import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar

from bench.calendar_poll import WINDOW, generated_feed
from bot.maker.calendar import Expansion, expand

CALENDARS = Path(__file__).parent / "data" / "calendars"
# Friday 16 October to Friday 6 November 2026: the clocks go back in Europe on 25 October.
WEEKS = (datetime(2026, 10, 16, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC))


def read(name: str, body: bytes | None = None) -> Expansion:
    return expand(body or (CALENDARS / name).read_bytes(), *WEEKS, "Europe/Berlin")


def seen(expansion: Expansion) -> list[tuple[str, str]]:
    return [(o.summary, f"{o.start:%a %d %b %H:%M}") for o in expansion.occurrences]


def test_broken_entries_are_skipped_and_counted_and_the_rest_is_read() -> None:
    # A Google export with an entry without a start, one with a broken end, one with two
    # starts, one with a rule no one understands, and a time zone whose offset is broken.
    found = read("one-bad-among-good.ics")
    assert found.unreadable == 4
    assert seen(found) == [
        ("Weekly planning", "Mon 19 Oct 08:00"),
        ("Weekly planning", "Thu 22 Oct 08:00"),
        ("Design review", "Mon 26 Oct 09:00"),
        ("Weekly planning", "Mon 26 Oct 09:00"),
        # Its zone could not be read: the time is taken as the person's own.
        ("In a zone whose offset is broken", "Thu 29 Oct 08:00"),
        ("Weekly planning", "Thu 29 Oct 09:00"),
        ("Weekly planning", "Mon 02 Nov 09:00"),
        ("Weekly planning", "Thu 05 Nov 09:00"),
    ]
    assert [o.people for o in found.occurrences[:3]] == [3, 3, 2]


def test_an_exchange_export_with_a_byte_order_mark_and_escaped_rule_is_read() -> None:
    body = (CALENDARS / "exchange-escaped-rule.ics").read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and b"FREQ=WEEKLY\\;UNTIL" in body
    found = read("exchange-escaped-rule.ics")
    assert found.unreadable == 0
    assert seen(found) == [
        ("Steering committee", "Mon 19 Oct 12:00"),
        ("Steering committee", "Wed 21 Oct 12:00"),
        ("Steering committee", "Mon 26 Oct 13:00"),  # winter time in Amsterdam from 25 October
        ("Steering committee", "Wed 28 Oct 13:00"),
        ("Steering committee", "Mon 02 Nov 13:00"),
        ("Steering committee", "Wed 04 Nov 13:00"),
    ]
    assert {(o.people, o.organizer) for o in found.occurrences} == {(3, "Kim")}


def test_a_byte_order_mark_changes_nothing() -> None:
    plain = (CALENDARS / "team.ics").read_bytes()
    assert read("team.ics", b"\xef\xbb\xbf" + plain) == read("team.ics", plain)


def test_changes_to_this_and_future_occurrences_keep_every_occurrence_apart() -> None:
    found = read("this-and-future.ics")
    assert seen(found) == [
        ("Stand-up", "Mon 19 Oct 09:00"),
        ("Stand-up (afternoons from now on)", "Wed 21 Oct 13:00"),
        ("Stand-up (afternoons from now on)", "Mon 26 Oct 13:00"),
        ("Stand-up (afternoons from now on)", "Wed 28 Oct 13:00"),
        ("Stand-up (an hour later from November)", "Mon 02 Nov 14:00"),
        ("Stand-up (an hour later from November)", "Wed 04 Nov 14:00"),
    ]
    assert len({o.key for o in found.occurrences}) == 6


def test_entries_without_a_uid_or_sharing_one_are_all_kept_with_keys_of_their_own() -> None:
    found = read("without-uids.ics")
    assert seen(found) == [
        ("Interview: backend", "Mon 26 Oct 09:00"),
        ("Interview: data", "Mon 26 Oct 09:00"),
        ("Interview: frontend", "Mon 26 Oct 09:00"),
        ("Budget call", "Tue 27 Oct 09:00"),
        ("Hiring sync (a copy that kept the UID of the budget call)", "Wed 28 Oct 09:00"),
    ]
    assert len({o.key for o in found.occurrences}) == 5


def test_keys_stay_the_same_when_the_feed_is_exported_again() -> None:
    # Servers stamp every export anew (DTSTAMP); keys, and so warnings, must not change with it.
    body = (CALENDARS / "without-uids.ics").read_bytes()
    again = body.replace(b"DTSTAMP:20261001T000000Z", b"DTSTAMP:20261023T061500Z")
    assert again != body
    assert [o.key for o in read("", again).occurrences] == [
        o.key for o in read("", body).occurrences
    ]


@pytest.mark.slow
def test_a_large_busy_export_matches_the_librarys_own_expansion() -> None:
    body = generated_feed(3_400, busy=True)
    assert len(body) > 1_900_000
    found = expand(body, *WINDOW, "Europe/Berlin")
    assert found.unreadable == 0
    assert len(found.occurrences) > 2_000
    assert len({o.key for o in found.occurrences}) == len(found.occurrences)
    calendar = x_wr_timezone.to_standard(Calendar.from_ical(body))
    expected = {
        (str(event["UID"]), event["DTSTART"].dt.astimezone(UTC))
        for event in recurring_ical_events.of(calendar).between(*WINDOW)
        if event["DTSTART"].dt < WINDOW[1]
    }
    occurrences = {(o.summary, o.start) for o in found.occurrences}
    assert len(occurrences) == len(expected)
    by_uid = {str(event["UID"]): str(event["SUMMARY"]) for event in calendar.walk("VEVENT")}
    assert occurrences == {(by_uid[uid], start) for uid, start in expected}


def test_entries_far_from_the_window_are_never_read_but_a_change_into_it_is() -> None:
    feed = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
UID:old-series@focusbot.test\r
DTSTART:20240101T090000Z\r
DTEND:20240101T100000Z\r
RRULE:FREQ=WEEKLY;UNTIL=20250101T000000Z\r
SUMMARY:A series that ended in 2025\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:old-broken@focusbot.test\r
DTSTART:20230101T090000Z\r
DTEND:garbage\r
SUMMARY:Broken, but long past\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@focusbot.test\r
DTSTART:20260101T090000Z\r
DTEND:20260101T100000Z\r
RRULE:FREQ=WEEKLY\r
SUMMARY:Weekly\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@focusbot.test\r
RECURRENCE-ID:20261022T090000Z\r
DTSTART:20261224T090000Z\r
DTEND:20261224T100000Z\r
SUMMARY:Weekly, moved far away\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@focusbot.test\r
RECURRENCE-ID:20250605T090000Z\r
DTSTART:20261027T150000Z\r
DTEND:20261027T160000Z\r
SUMMARY:Weekly, moved into the window from long ago\r
END:VEVENT\r
END:VCALENDAR\r
"""
    found = expand(feed, *WEEKS, "UTC")
    assert found.unreadable == 0  # a broken entry of 2023 never matters, so it is not counted
    # 22 October moved to Christmas Eve: gone from the window.
    assert seen(found) == [
        ("Weekly, moved into the window from long ago", "Tue 27 Oct 15:00"),
        ("Weekly", "Thu 29 Oct 09:00"),
        ("Weekly", "Thu 05 Nov 09:00"),
    ]


def test_ordinary_occurrences_keep_the_keys_focusbot_stored_before() -> None:
    # Conflict DMs are sent once per key: new keys for known meetings would DM them all again.
    found = {(o.summary, o.start): o.key for o in read("team.ics").occurrences}
    review = found["Model review", datetime(2026, 10, 26, 9, tzinfo=UTC)]
    moved = found["Model review (moved)", datetime(2026, 10, 28, 12, 15, tzinfo=UTC)]
    focus = found["Focus block", datetime(2026, 10, 29, 9, tzinfo=UTC)]
    assert review == sha256(b"model-review@focusbot.test|2026-10-26T09:00:00+00:00").hexdigest()
    assert moved == sha256(b"model-review@focusbot.test|2026-10-28T09:00:00+00:00").hexdigest()
    assert focus == sha256(b"focus-block@focusbot.test|2026-10-29T09:00:00+00:00").hexdigest()
