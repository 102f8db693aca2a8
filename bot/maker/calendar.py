"""Read a member's private iCal feed: fetch it politely and expand its events (RFC 5545)."""

import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.client import HTTPException, HTTPMessage
from typing import IO, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar

from bot.common.recurrence import zone

FETCH_TIMEOUT_SECONDS = 10.0
MAX_FEED_BYTES = 2_000_000
MAX_OCCURRENCES = 5_000
USER_AGENT = "focusbot calendar watch"
_CHUNK = 64 * 1024


class FeedError(Exception):
    """The feed could not be read; the message says why, without its address."""


@dataclass(frozen=True)
class Fetched:
    """What a conditional GET brought: a new body, or nothing new."""

    body: bytes | None
    etag: str | None
    last_modified: str | None

    @property
    def unchanged(self) -> bool:
        """Tell whether the server said the feed has not changed."""
        return self.body is None


@dataclass(frozen=True)
class Occurrence:
    """One timed occurrence of an event: when, how many people, who organised it."""

    key: str
    start: datetime
    end: datetime
    people: int
    organizer: str
    summary: str


def calendar_address(text: str) -> str:
    """Return the feed address to store; raise ValueError for anything but an http(s) URL."""
    address = text.strip().strip("<>").split("|", 1)[0].strip()
    if address.lower().startswith("webcal://"):
        address = "https://" + address[len("webcal://") :]
    parts = urlsplit(address)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in address:
        raise ValueError("not an http(s) address")
    _ = parts.port  # raises ValueError for a port that is not a number
    if len(address) > 2000:
        raise ValueError("too long")
    return address


def masked(address: str) -> str:
    """Show an address without giving it away: its host and the last four characters."""
    parts = urlsplit(address)
    tail = address.rstrip("/")[-4:]
    return f"{parts.hostname or 'unknown host'}/…{tail}"


def ensure_public(address: str) -> None:
    """Refuse an address whose host is, or resolves to, a private, loopback or link-local one.

    Anyone may link a calendar, so a feed address must never make focusbot read inside the
    network it runs in.
    """
    host = urlsplit(address).hostname or ""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        raise FeedError("the calendar server's name could not be found") from None
    for ip in map(ipaddress.ip_address, (str(address).split("%")[0] for address in found)):
        if not ip.is_global or ip.is_multicast:
            raise FeedError("the address points into a private network, which focusbot never reads")


class PublicRedirectsOnly(HTTPRedirectHandler):
    """Follow a redirect only to an address focusbot may read."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(
        self, req: Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> Request | None:
        if not self.allow_private:
            ensure_public(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_feed(
    address: str,
    etag: str | None = None,
    last_modified: str | None = None,
    *,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    max_bytes: int = MAX_FEED_BYTES,
    allow_private: bool = False,
) -> Fetched:
    """GET the feed, conditionally; raise FeedError when it cannot (or may not) be read."""
    if not allow_private:
        ensure_public(address)
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    opener = build_opener(PublicRedirectsOnly(allow_private))
    try:
        with opener.open(Request(address, headers=headers), timeout=timeout) as response:
            body = _read_capped(response, max_bytes)
            return Fetched(
                body, response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except HTTPError as error:
        if error.code == 304:
            return Fetched(None, etag, last_modified)
        raise FeedError(f"the calendar server answered HTTP {error.code}") from None
    except TimeoutError:
        raise FeedError(f"the calendar server did not answer within {timeout:g} seconds") from None
    except ValueError:
        raise FeedError("the address is not a valid web address") from None
    except (URLError, HTTPException, OSError) as error:
        reason = getattr(error, "reason", None)
        if isinstance(reason, TimeoutError):
            raise FeedError(
                f"the calendar server did not answer within {timeout:g} seconds"
            ) from None
        raise FeedError("the calendar server could not be reached") from None


def _read_capped(response: Any, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FeedError(_too_large(max_bytes))
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FeedError(_too_large(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> str:
    return f"the calendar is larger than {max_bytes // 1_000_000} MB"


def expand(body: bytes, start: datetime, end: datetime, default_timezone: str) -> list[Occurrence]:
    """Return the timed, busy occurrences between start and end, recurrences expanded."""
    if not body.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        raise FeedError("the address does not serve an iCalendar file")
    floating = zone(default_timezone)
    events = []
    try:
        calendar = x_wr_timezone.to_standard(Calendar.from_ical(body))
        for event in recurring_ical_events.of(calendar).after(start):
            if _moment(event["DTSTART"].dt, floating) >= end:
                break
            events.append(event)
            if len(events) > MAX_OCCURRENCES:
                raise FeedError(
                    f"the calendar has more than {MAX_OCCURRENCES:,} events in three weeks"
                )
        found = [_occurrence(event, floating) for event in events if _is_busy(event)]
    except FeedError:
        raise
    except Exception:  # a malformed feed in any of a hundred ways is one user-facing problem
        raise FeedError("the calendar file could not be read as iCalendar") from None
    return sorted((o for o in found if o is not None), key=lambda o: (o.start, o.key))


def _is_busy(event: Any) -> bool:
    status = str(event.get("STATUS", "")).upper()
    transparency = str(event.get("TRANSP", "OPAQUE")).upper()
    return status != "CANCELLED" and transparency != "TRANSPARENT"


def _occurrence(event: Any, floating: Any) -> Occurrence | None:
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
    uid = str(event.get("UID", ""))
    recurrence = event.get("RECURRENCE-ID")
    original = _moment(recurrence.dt, floating) if recurrence is not None else starts
    key = hashlib.sha256(f"{uid}|{original.isoformat()}".encode()).hexdigest()
    return Occurrence(
        key=key,
        start=starts,
        end=ends,
        people=_people(event),
        organizer=_organizer(event),
        summary=str(event.get("SUMMARY", "")).strip()[:200],
    )


def _aware(moment: datetime, floating: Any) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=floating)
    return moment.astimezone(UTC)


def _moment(value: datetime | date, floating: Any) -> datetime:
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
