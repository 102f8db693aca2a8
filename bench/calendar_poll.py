"""Measure one calendar poll against feed size: `python -m bench.calendar_poll`.

A poll is what the background worker does for one linked calendar: fetch the feed (here from a
server on loopback) and expand three weeks of it. The feeds are generated like a busy Google
export: years of single meetings, weekly series with exceptions and moved occurrences, attendees.
"""

import argparse
import random
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.maker.calendar import expand
from bot.maker.feeds import fetch_feed

EVENT_COUNTS = (100, 500, 1_000, 2_000, 3_400)
NOW = datetime(2026, 10, 23, 6, 0, tzinfo=UTC)
WINDOW = (NOW - timedelta(days=7), NOW + timedelta(days=14))
HEADER = (
    "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n"
    "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:alice@focusbot.test\r\n"
    "X-WR-TIMEZONE:Europe/Berlin\r\n"
)


def generated_feed(events: int, *, busy: bool = False, seed: int = 1) -> bytes:
    """Return a Google-like export of this many entries over three years up to NOW.

    A tenth of the entries are series, a fifth of those still running. A busy calendar has
    twice as many series and half of them still running: its three weeks hold thousands of
    occurrences instead of hundreds.
    """
    every, running = (5, 0.5) if busy else (10, 0.2)
    rng = random.Random(seed)
    parts = [HEADER]
    for n in range(events):
        start = NOW + timedelta(days=rng.randint(-3 * 365, 60), hours=rng.randint(-2, 8))
        start = start.replace(minute=rng.choice((0, 15, 30, 45)))
        lines = [f"UID:{seed}-{n}-{rng.getrandbits(64):016x}@google.com"]
        lines += _when(start, rng)
        if n % every == 0:
            lines += _series(start, running, rng)
        lines += _people(rng)
        lines.append(f"SUMMARY:Meeting {n} about {rng.choice(TOPICS)}")
        lines.append("DESCRIPTION:" + " ".join(rng.choices(TOPICS, k=3)))
        parts.append(_event(lines))
        if n % 25 == 0:
            parts.append(_moved_occurrence(lines, start, rng))
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode()


TOPICS = ("roadmap", "hiring", "budget", "launch", "incident", "design", "metrics", "onboarding")


def _when(start: datetime, rng: random.Random) -> list[str]:
    end = start + timedelta(minutes=rng.choice((15, 30, 45, 60, 90)))
    return [
        "DTSTAMP:20261020T101010Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
    ]


def _series(start: datetime, running: float, rng: random.Random) -> list[str]:
    rule = rng.choice(
        (
            "FREQ=WEEKLY",
            "FREQ=WEEKLY;BYDAY=MO,WE",
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=WEEKLY;INTERVAL=2",
        )
    )
    if rng.random() >= running:
        rule += f";UNTIL={start + timedelta(days=rng.randint(30, 400)):%Y%m%dT%H%M%SZ}"
    skipped = start + timedelta(weeks=rng.randint(1, 10))
    return [f"RRULE:{rule}", f"EXDATE:{skipped:%Y%m%dT%H%M%SZ}"]


def _people(rng: random.Random) -> list[str]:
    names = rng.sample(
        ("alice", "bob", "dana", "sam", "kim", "lee", "ana", "joe"), rng.randint(1, 6)
    )
    lines = [f"ORGANIZER;CN={names[0].title()}:mailto:{names[0]}@focusbot.test"]
    lines += [
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN={name.title()}:mailto:{name}@focusbot.test"
        for name in names
    ]
    return lines


def _moved_occurrence(lines: list[str], start: datetime, rng: random.Random) -> str:
    moved = start + timedelta(hours=rng.randint(1, 5))
    kept = [line for line in lines if line.startswith(("UID", "ORGANIZER", "ATTENDEE", "SUMMARY"))]
    return _event(
        [
            *kept,
            "DTSTAMP:20261020T101010Z",
            f"RECURRENCE-ID:{start:%Y%m%dT%H%M%SZ}",
            f"DTSTART:{moved:%Y%m%dT%H%M%SZ}",
            f"DTEND:{moved + timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
        ]
    )


def _event(lines: list[str]) -> str:
    folded = [_fold(line) for line in lines]
    return "BEGIN:VEVENT\r\n" + "".join(f"{line}\r\n" for line in folded) + "END:VEVENT\r\n"


def _fold(line: str) -> str:
    return "\r\n ".join(line[i : i + 74] for i in range(0, len(line), 74))


@contextmanager
def serving(body: bytes) -> Iterator[str]:
    """Serve one feed on loopback; yield its address."""

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/basic.ics"
    finally:
        server.shutdown()
        server.server_close()


def measure_poll(events: int, busy: bool, repeats: int = 3) -> dict[str, float]:
    """Fetch and expand a generated feed; return its size and the best wall and CPU seconds."""
    body = generated_feed(events, busy=busy)
    walls, cpus, found, unreadable = [], [], 0, 0
    with serving(body) as address:
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
            fetched = fetch_feed(address, allow_private=True)
            assert fetched.body is not None
            expansion = expand(fetched.body, *WINDOW, "Europe/Berlin")
            cpus.append(resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu)
            walls.append(time.perf_counter() - wall)
            found, unreadable = len(expansion.occurrences), expansion.unreadable
    return {
        "events": events,
        "bytes": len(body),
        "occurrences": found,
        "unreadable": unreadable,
        "wall_s": min(walls),
        "cpu_s": min(cpus),
    }


def main() -> None:
    """Print a Markdown table of poll time against feed size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| calendar | entries | feed size | occurrences in 3 weeks | poll wall s | poll CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for busy in (False, True):
        for events in EVENT_COUNTS:
            row = measure_poll(events, busy, args.repeats)
            print(
                f"| {'busy' if busy else 'typical'} | {row['events']:,} "
                f"| {row['bytes'] / 1e6:.2f} MB | {row['occurrences']:,} "
                f"| {row['wall_s']:.3f} | {row['cpu_s']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
