"""Calendar watch: iCal feeds served on loopback, expanded, polled politely, conflicts DMed once."""

import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from slack_bolt.request import BoltRequest
from sqlmodel import select

from bot import maker
from bot.app.factory import Focusbot, create_focusbot
from bot.common import outbox
from bot.common.digest import DigestWindow
from bot.console.fakeslack import FakeSlack, SlackRequests
from bot.maker.calendar import Expansion, calendar_address, expand
from bot.maker.feeds import FeedError, ensure_public, fetch_feed, masked
from storage.base import Workspace
from storage.db import session_scope
from storage.maker import MakerCalendar, MakerMeeting
from tests.conftest import (
    ALICE,
    BOB,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    SlackUser,
    message_text,
    settings_for,
)

CALENDARS = Path(__file__).parent / "data" / "calendars"
TEAM_ICS = (CALENDARS / "team.ics").read_bytes()
NOT_A_CALENDAR = (CALENDARS / "not-a-calendar.html").read_bytes()
HUGE = b"BEGIN:VCALENDAR\r\n" + b"X-PADDING:" + b"x" * 2_100_000 + b"\r\nEND:VCALENDAR\r\n"
SECRET_PATH = "/private-3f9a7c2e5b1d/basic.ics"
DAILY_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//focusbot tests//daily//EN\r
BEGIN:VEVENT\r
UID:daily-sync@focusbot.test\r
DTSTAMP:20260101T000000Z\r
SUMMARY:Daily sync\r
DTSTART;TZID=Europe/Berlin:20260101T100000\r
DTEND;TZID=Europe/Berlin:20260101T104500\r
RRULE:FREQ=DAILY\r
ORGANIZER;CN=Dana:mailto:dana@focusbot.test\r
ATTENDEE;CN=You:mailto:you@focusbot.test\r
END:VEVENT\r
END:VCALENDAR\r
"""
# Friday 23 October 2026, 08:00 in Berlin, two days before the clocks go back there.
START = datetime(2026, 10, 23, 6, 0, tzinfo=UTC)


class FeedServer:
    """Serve iCal feeds on 127.0.0.1 with ETag support, and remember every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.broken_is_fixed = False
        self.partly_read = TEAM_ICS
        self.trickling, self.release = threading.Event(), threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.requests if seen == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feeds.requests.append((self.path, dict(self.headers.items())))
                if self.path == SECRET_PATH:
                    self._calendar(TEAM_ICS)
                elif self.path == "/daily.ics":
                    self._calendar(DAILY_ICS)
                elif self.path == "/broken.ics":
                    self._calendar(TEAM_ICS if feeds.broken_is_fixed else NOT_A_CALENDAR)
                elif self.path == "/huge.ics":
                    self._send(200, HUGE, {"Content-Length": str(len(HUGE))})
                elif self.path == "/huge-streamed.ics":
                    self._send(200, HUGE, {})  # no length: read until the connection closes
                elif self.path == "/partly.ics":
                    self._calendar(feeds.partly_read)
                elif self.path == "/trickle.ics":
                    self._trickle()
                elif self.path == "/slow.ics":
                    time.sleep(1.5)
                    self._calendar(TEAM_ICS)
                else:
                    self._send(404, b"not found", {"Content-Length": "9"})

            def _calendar(self, body: bytes) -> None:
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", {})
                    return
                self._send(
                    200,
                    body,
                    {
                        "Content-Length": str(len(body)),
                        "ETag": etag,
                        "Last-Modified": "Thu, 01 Oct 2026 00:00:00 GMT",
                    },
                )

            def _trickle(self) -> None:
                """Send blanks a byte at a time until released (or a minute passed), then a feed."""
                self._send(200, b"", {})
                feeds.trickling.set()
                for _ in range(1200):
                    if feeds.release.wait(0.05):
                        break
                    self.wfile.write(b" ")
                    self.wfile.flush()
                self.wfile.write(TEAM_ICS)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # The reader may give up on a body that is too large.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        return Handler


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.stop()


# --- expanding a calendar ----------------------------------------------------------------------


def test_recurring_events_expand_with_exceptions_moves_and_time_zones() -> None:
    found = expand(
        TEAM_ICS,
        datetime(2026, 10, 16, tzinfo=UTC),
        datetime(2026, 11, 6, tzinfo=UTC),
        "Europe/Berlin",
    ).occurrences
    seen = [(o.summary, o.start, o.end - o.start, o.people, o.organizer) for o in found]
    review, sync = timedelta(minutes=45), timedelta(minutes=30)
    assert seen == [
        ("Model review", datetime(2026, 10, 19, 8, 0, tzinfo=UTC), review, 3, "Dana"),
        ("Sync with New York", datetime(2026, 10, 20, 12, 0, tzinfo=UTC), sync, 2, "Sam"),
        ("Model review", datetime(2026, 10, 21, 8, 0, tzinfo=UTC), review, 3, "Dana"),
        # Berlin has left summer time: 10:00 there is now 09:00 UTC.
        ("Model review", datetime(2026, 10, 26, 9, 0, tzinfo=UTC), review, 3, "Dana"),
        # New York is still on daylight time for another week.
        ("Sync with New York", datetime(2026, 10, 27, 12, 0, tzinfo=UTC), sync, 2, "Sam"),
        ("Model review (moved)", datetime(2026, 10, 28, 12, 15, tzinfo=UTC), review, 3, "Dana"),
        ("Focus block", datetime(2026, 10, 29, 9, 0, tzinfo=UTC), timedelta(hours=2), 0, ""),
        # 2 November is excepted (EXDATE); the all-day offsite, the transparent lunch and the
        # cancelled planning never show up.
        ("Sync with New York", datetime(2026, 11, 3, 13, 0, tzinfo=UTC), sync, 2, "Sam"),
        ("Model review", datetime(2026, 11, 4, 9, 0, tzinfo=UTC), review, 3, "Dana"),
    ]
    assert len({o.key for o in found}) == len(found)


def test_a_rule_that_floods_the_window_is_skipped_and_counted() -> None:
    flood = TEAM_ICS.replace(b"RRULE:FREQ=WEEKLY;BYDAY=TU", b"RRULE:FREQ=MINUTELY")
    read = expand(flood, START, START + timedelta(days=21), "UTC")
    assert read.unreadable == 1
    assert {o.summary for o in read.occurrences} == {
        "Model review",
        "Model review (moved)",
        "Focus block",
    }


def test_a_calendar_with_more_events_than_can_be_watched_is_refused() -> None:
    hourly = "".join(
        f"BEGIN:VEVENT\r\nUID:hourly-{n}\r\nDTSTART:20261001T000000Z\r\n"
        "DURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n"
        for n in range(11)
    )
    feed = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{hourly}END:VCALENDAR\r\n".encode()
    with pytest.raises(FeedError, match="more than 5,000 events"):
        expand(feed, START, START + timedelta(days=21), "UTC")


def test_what_is_not_a_calendar_is_refused() -> None:
    window = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(FeedError, match="does not serve an iCalendar file"):
        expand(NOT_A_CALENDAR, *window, "UTC")
    broken = expand(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n", *window, "UTC")
    assert broken == Expansion([], unreadable=1)  # a calendar, all of whose entries are broken


# --- fetching a feed ---------------------------------------------------------------------------


def test_a_feed_is_fetched_again_only_when_it_changed(feeds: FeedServer) -> None:
    first = fetch_feed(feeds.url(SECRET_PATH), allow_private=True)
    assert first.body == TEAM_ICS and first.etag
    again = fetch_feed(feeds.url(SECRET_PATH), first.etag, first.last_modified, allow_private=True)
    assert again.unchanged and again.etag == first.etag
    sent = feeds.requests_to(SECRET_PATH)[1]
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == "Thu, 01 Oct 2026 00:00:00 GMT"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/huge.ics", "larger than 2 MB"),
        ("/huge-streamed.ics", "larger than 2 MB"),
        ("/gone.ics", "HTTP 404"),
    ],
)
def test_feeds_that_cannot_be_read_say_why_without_their_address(feeds, path, problem) -> None:
    with pytest.raises(FeedError, match=problem) as error:
        fetch_feed(feeds.url(path), allow_private=True)
    assert "127.0.0.1" not in str(error.value)


def test_slow_and_unreachable_feeds_time_out(feeds: FeedServer) -> None:
    with pytest.raises(FeedError, match=r"did not answer within 0\.5 seconds"):
        fetch_feed(feeds.url("/slow.ics"), timeout=0.5, allow_private=True)
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(FeedError, match="could not be reached"):
        fetch_feed(f"http://127.0.0.1:{port}/cal.ics", allow_private=True)


def test_addresses_are_checked_and_never_shown_in_full() -> None:
    address = calendar_address("<webcal://calendar.example.com/private-abc123/basic.ics>")
    assert address == "https://calendar.example.com/private-abc123/basic.ics"
    assert masked(address) == "calendar.example.com/….ics"
    with pytest.raises(ValueError):
        calendar_address("javascript:alert(1)")


# --- watching end to end -----------------------------------------------------------------------


def dms_to(fake: FakeSlack, user: str) -> list[str]:
    return [message_text(c) for c in fake.calls_to("chat.postMessage") if c["channel"] == user]


def tick_until_quiet(focusbot: Focusbot) -> None:
    for _ in range(3):
        focusbot.scheduler.tick()
        assert focusbot.services.background.wait_idle(timeout=60)


def test_meetings_in_maker_time_are_dmed_once_each(
    slack: SlackUser,
    fake_slack: FakeSlack,
    focusbot: Focusbot,
    feeds: FeedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    address = feeds.url(SECRET_PATH)
    with freeze_time(START, tick=True) as clock:
        slack.command("set timezone Europe/Berlin", command="/maker")  # Alice sets up the team
        refused = slack.command(f"calendar <{address}>", command="/maker")
        assert "link or unlink it in your DM with me" in refused.text
        with session_scope(focusbot.services.engine) as session:
            assert session.exec(select(MakerCalendar)).all() == []

        linked = slack.command(f"calendar <{address}>", channel="D0ALICE", command="/maker")
        assert "Linked your calendar (127.0.0.1/….ics)" in linked.text
        assert SECRET_PATH not in linked.text

        tick_until_quiet(focusbot)
        dms = dms_to(fake_slack, ALICE)
        assert len(dms) == 3
        review, sync, second_review = dms
        # Times are Alice's (Berlin), on both sides of the change from summer time.
        assert (
            "“Model review” on Mon 26 Oct 10:00–10:45 (3 people) takes *45m* of "
            "<#C0MLTEAM>'s maker time" in review
        )
        assert (
            "Nearest slots inside meeting windows:*\n"
            "• Mon 26 Oct 09:00–09:45\n• Mon 26 Oct 13:00–13:45" in review
        )
        # The New York sync lands in the 13:00 window while New York keeps daylight time, and in
        # maker time the week after, once it has changed too.
        assert "“Sync with New York” on Tue 3 Nov 14:00–14:30 (2 people) takes *30m*" in sync
        assert "“Model review” on Wed 4 Nov 10:00–10:45" in second_review

        clock.move_to(START + timedelta(minutes=16))
        tick_until_quiet(focusbot)
        assert len(dms_to(fake_slack, ALICE)) == 3  # nothing twice
        assert len(feeds.requests_to(SECRET_PATH)) == 2, feeds.requests_to(SECRET_PATH)
        assert feeds.requests_to(SECRET_PATH)[-1].get("If-None-Match")

        status = slack.command("calendar", channel="D0ALICE", command="/maker")
        assert "Your calendar (127.0.0.1/….ics) is linked and read." in status.text

        off = slack.command("calendar off", channel="D0ALICE", command="/maker")
        assert "Unlinked your calendar and forgot what I had read from it." in off.text
        clock.move_to(START + timedelta(hours=2))
        tick_until_quiet(focusbot)
        assert len(feeds.requests_to(SECRET_PATH)) == 2
        with session_scope(focusbot.services.engine) as session:
            assert session.exec(select(MakerMeeting)).all() == []
    assert SECRET_PATH not in caplog.text


def test_an_unchanged_feed_is_expanded_again_as_the_weeks_go_by(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    address = feeds.url(SECRET_PATH)
    with freeze_time(START, tick=True) as clock:
        slack.command(
            f"calendar <{address}|calendar.example.com/basic.ics>",
            channel="D0ALICE",
            command="/maker",
        )
        tick_until_quiet(focusbot)
        assert len(dms_to(fake_slack, ALICE)) == 3
        clock.move_to(START + timedelta(days=7))
        tick_until_quiet(focusbot)
    assert "If-None-Match" not in feeds.requests_to(SECRET_PATH)[-1]
    later = dms_to(fake_slack, ALICE)[3:]
    assert [re.search(r"“[^”]+” on [^(]+", text).group(0) for text in later] == [
        "“Model review” on Mon 9 Nov 10:00–10:45 ",
        "“Sync with New York” on Tue 10 Nov 14:00–14:30 ",
        "“Model review” on Wed 11 Nov 10:00–10:45 ",
    ]


def test_a_broken_feed_is_reported_once_retried_and_never_stops_the_bot(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    with freeze_time(START, tick=True) as clock:
        slack.command(
            f"calendar {feeds.url('/broken.ics')}", user=BOB, channel="D0BOB", command="/maker"
        )
        slack.command(f"calendar {feeds.url(SECRET_PATH)}", channel="D0ALICE", command="/maker")
        tick_until_quiet(focusbot)
        [report] = dms_to(fake_slack, BOB)
        assert (
            "I can't read your linked calendar: the address does not serve an iCalendar" in report
        )
        assert len(dms_to(fake_slack, ALICE)) == 3  # Alice's watch goes on regardless

        for minutes in (16, 32):
            clock.move_to(START + timedelta(minutes=minutes))
            tick_until_quiet(focusbot)
        assert len(dms_to(fake_slack, BOB)) == 1
        assert len(feeds.requests_to("/broken.ics")) == 3
        status = slack.command("calendar", user=BOB, channel="D0BOB", command="/maker")
        assert (
            "The last reading failed: the address does not serve an iCalendar file" in status.text
        )

        feeds.broken_is_fixed = True
        clock.move_to(START + timedelta(minutes=48))
        tick_until_quiet(focusbot)
        status = slack.command("calendar", user=BOB, channel="D0BOB", command="/maker")
        assert "is linked and read." in status.text and "failed" not in status.text


def test_maker_time_kept_is_a_digest_section_and_on_the_home_tab(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    with freeze_time(START, tick=True):
        slack.command("set timezone Europe/Berlin", command="/maker")
        slack.command(f"calendar {feeds.url(SECRET_PATH)}", channel="D0ALICE", command="/maker")
        tick_until_quiet(focusbot)
        # Fri 16 to Thu 22 October in Berlin: five workdays of 5h 45m maker time each.
        window = DigestWindow(
            Workspace(TEAM),
            CHANNEL,
            datetime(2026, 10, 15, 22, tzinfo=UTC),
            datetime(2026, 10, 22, 22, tzinfo=UTC),
            "Europe/Berlin",
        )
        with session_scope(focusbot.services.engine) as session:
            section = maker.digest_section(session, window)
        assert section is not None
        assert [line.text for line in section.lines] == [
            "Maker time kept: 93% (26h 45m of 28h 45m, 1 linked calendar)",
            "Meetings in maker time from Dana: 1h 30m (2 meetings)",
            "Meetings in maker time from Sam: 30m (1 meeting)",
        ]
        assert focusbot.services.digest_sections.count(maker.digest_section) == 1

        slack.post(slack.requests.event({"type": "app_home_opened", "user": ALICE, "tab": "home"}))
        [published] = fake_slack.wait_for("views.publish")
        home = message_text(published["view"])
        assert "<#C0MLTEAM> · outside the working day · kept this week: *93%*" in home
        assert "Your calendar (127.0.0.1/….ics) is linked and read." in home


def test_the_console_drives_maker_time_and_the_calendar_watch(
    tmp_path: Path, feeds: FeedServer
) -> None:
    script = "\n".join(
        [
            "tz Europe/Berlin",
            "/maker set windows 09:00-09:30 13:00-14:00",
            "/maker check mon 10:30 45m 8",
            "/maker slots 30m 7",
            "in dm",
            f"/maker calendar {feeds.url('/daily.ics')}",
            "wait 20m",
            "/maker calendar",
            "quit",
        ]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}", "COLUMNS": "200"}
    env["CALENDAR_PRIVATE_ADDRESSES"] = "true"  # the test serves its feed on loopback
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Saved. Maker time" in out
    assert "cuts 45m into the team's maker time" in out and "Big: 8 people" in out
    assert "13:00–13:30" in out
    assert "Linked your calendar (127.0.0.1/….ics)" in out
    assert "“Daily sync” on" in out and "takes 45m of #ml-team's maker time" in out
    assert out.count("/daily.ics") == 1  # the echo of what you typed; focusbot never repeats it
    assert "Traceback" not in out + result.stderr


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8080/cal.ics",
        "http://localhost/cal.ics",
        "http://10.1.2.3/cal.ics",
        "http://192.168.0.10/cal.ics",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/cal.ics",
        "http://[fd00::1]/cal.ics",
        "http://100.64.0.1/cal.ics",
    ],
)
def test_feeds_inside_private_networks_are_never_read(address: str) -> None:
    with pytest.raises(FeedError, match="private network"):
        fetch_feed(address)


def test_a_public_address_passes_the_network_check() -> None:
    ensure_public("https://93.184.216.34/calendar.ics")  # an address literal: no lookup needed


def test_linking_an_internal_address_is_refused_and_nothing_is_stored(
    fake_slack: FakeSlack, engine: Any, database_url: str
) -> None:
    settings = settings_for(fake_slack, database_url).model_copy(
        update={"calendar_private_addresses": False}
    )
    guarded = create_focusbot(settings, engine=engine, process_before_response=True)
    request = SlackRequests(SIGNING_SECRET, team_id=TEAM).command(
        "/maker",
        "calendar http://169.254.169.254/latest/meta-data/cal.ics",
        user_id=ALICE,
        channel_id="D0ALICE",
        response_url=fake_slack.response_url(),
    )
    response = guarded.app.dispatch(BoltRequest(body=request.body, headers=dict(request.headers)))
    assert "points into a private network" in message_text(json.loads(response.body))
    with session_scope(engine) as session:
        assert session.exec(select(MakerCalendar)).all() == []


# --- what a calendar does to the rest of focusbot ----------------------------------------------


def test_a_slow_feed_holds_up_neither_commands_nor_other_posts(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    with freeze_time(START, tick=True):
        slack.command("set timezone Europe/Berlin", command="/maker")
        slack.command(f"calendar {feeds.url('/trickle.ics')}", channel="D0ALICE", command="/maker")
        with session_scope(focusbot.services.engine) as session:
            [calendar] = session.exec(select(MakerCalendar)).all()
            outbox.schedule_post(
                session,
                workspace=Workspace(TEAM),
                channel_id=BOB,
                kind=maker.BROKEN_FEED_KIND,
                due_at=START,
                key="another due post",
                now=START,
                payload={"problem": "a post due at the same time"},
            )
        focusbot.scheduler.tick()
        assert feeds.trickling.wait(timeout=30)
        # The feed is still arriving, a byte at a time, while the tick has delivered the other
        # post and a command (which needs the database) gets its answer.
        assert not feeds.release.is_set()
        assert focusbot.services.background.busy((maker.POLL_KIND, calendar.id))
        assert "a post due at the same time" in dms_to(fake_slack, BOB)[0]
        assert "Added" in slack.command("add Write the report").text
        assert focusbot.services.background.busy((maker.POLL_KIND, calendar.id))

        feeds.release.set()
        tick_until_quiet(focusbot)
    assert len(dms_to(fake_slack, ALICE)) == 3  # the slow feed was read in the end


def test_entries_that_cannot_be_read_are_told_once_then_only_when_their_number_changes(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot, feeds: FeedServer
) -> None:
    broken = b"BEGIN:VEVENT\r\nUID:no-start-%d@focusbot.test\r\nSUMMARY:No start\r\nEND:VEVENT\r\n"
    feeds.partly_read = TEAM_ICS.replace(
        b"END:VCALENDAR", broken % 1 + broken % 2 + b"END:VCALENDAR"
    )
    with freeze_time(START, tick=True) as clock:
        slack.command(f"calendar {feeds.url('/partly.ics')}", channel="D0ALICE", command="/maker")
        tick_until_quiet(focusbot)
        [told] = [text for text in dms_to(fake_slack, ALICE) if "could not be read" in text]
        assert told.startswith(
            ":warning: 2 entries in your calendar could not be read; the rest is watched. "
            "I'll tell you again only if that number changes."
        )
        assert len(dms_to(fake_slack, ALICE)) == 4  # and the three meetings in maker time

        # Read again, unchanged, and again after the horizon moved on: nothing new to say.
        for later in (timedelta(minutes=16), timedelta(hours=7)):
            clock.move_to(START + later)
            tick_until_quiet(focusbot)
        assert len(dms_to(fake_slack, ALICE)) == 4
        status = slack.command("calendar", channel="D0ALICE", command="/maker")
        assert "2 of its entries could not be read; the rest is watched." in status.text

        feeds.partly_read = feeds.partly_read.replace(
            b"END:VCALENDAR", broken % 3 + b"END:VCALENDAR"
        )
        clock.move_to(START + timedelta(hours=7, minutes=16))
        tick_until_quiet(focusbot)
    [told_again] = dms_to(fake_slack, ALICE)[4:]
    assert told_again.startswith(":warning: 3 entries in your calendar could not be read;")
