"""Fetch a member's private iCal feed: a checked address, a pinned connection, a deadline.

Anyone may link a calendar, so a feed address must never make focusbot read inside the network it
runs in. The host is resolved once, every address it resolves to is checked, and the connection
goes to a checked address (the Host header and TLS server name still carry the name): a second
lookup that answers differently (DNS rebinding) is never made. Every read waits at most the read
timeout, and the whole fetch, redirects included, ends at its deadline however slowly bytes come.
"""

import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPResponse
from typing import Any
from urllib.parse import urljoin, urlsplit

READ_TIMEOUT_SECONDS = 10.0
FETCH_DEADLINE_SECONDS = 30.0
MAX_FEED_BYTES = 2_000_000
MAX_REDIRECTS = 5
USER_AGENT = "focusbot calendar watch"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

Resolver = Callable[[str, int], list[str]]


class FeedError(Exception):
    """The feed could not be read; the message says why, without its address."""


class DeadlinePassed(TimeoutError):
    """The whole fetch took longer than its deadline."""


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
class Target:
    """Where one request goes: the name it asks for, and the checked addresses it may connect to."""

    secure: bool
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def masked(address: str) -> str:
    """Show an address without giving it away: its host and the last four characters."""
    parts = urlsplit(address)
    tail = address.rstrip("/")[-4:]
    return f"{parts.hostname or 'unknown host'}/…{tail}"


def system_resolver(host: str, port: int) -> list[str]:
    """Return every address the host name resolves to."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def checked_target(address: str, resolve: Resolver, allow_private: bool) -> Target:
    """Resolve the address once and check every answer; raise FeedError if it may not be read."""
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("the address is not a valid web address")
    if "@" in parts.netloc:
        raise FeedError("the address carries a user name or password, which focusbot never sends")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
        found = resolve(parts.hostname, port)
        addresses = [ipaddress.ip_address(found_address.split("%")[0]) for found_address in found]
    except ValueError:
        raise FeedError("the address is not a valid web address") from None
    except (OSError, UnicodeError):
        raise FeedError("the calendar server's name could not be found") from None
    if not addresses:
        raise FeedError("the calendar server's name could not be found")
    if not allow_private and any(not ip.is_global or ip.is_multicast for ip in addresses):
        raise FeedError("the address points into a private network, which focusbot never reads")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme == "https", parts.hostname, port, path, tuple(map(str, addresses)))


def ensure_public(address: str, resolve: Resolver = system_resolver) -> None:
    """Refuse an address whose host is, or resolves to, a private, loopback or link-local one."""
    checked_target(address, resolve, allow_private=False)


def fetch_feed(
    address: str,
    etag: str | None = None,
    last_modified: str | None = None,
    *,
    timeout: float = READ_TIMEOUT_SECONDS,
    deadline: float = FETCH_DEADLINE_SECONDS,
    max_bytes: int = MAX_FEED_BYTES,
    allow_private: bool = False,
    resolve: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
) -> Fetched:
    """GET the feed, conditionally; raise FeedError when it cannot (or may not) be read."""
    budget = Budget(time.monotonic() + deadline, timeout)
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = checked_target(address, resolve, allow_private)
            status, answer, body = _get(target, headers, budget, max_bytes, tls)
            location = answer.get("Location")
            if status in REDIRECTS and location:
                address = urljoin(address, location.strip())
                continue
            if status == 304:
                return Fetched(None, etag, last_modified)
            if status != 200:
                raise FeedError(f"the calendar server answered HTTP {status}")
            return Fetched(body, answer.get("ETag"), answer.get("Last-Modified"))
    except TimeoutError:  # a wait cut short by the deadline ends in a plain timeout too
        if budget.expired():
            raise FeedError(
                f"the calendar server did not send the calendar within {deadline:g} seconds"
            ) from None
        raise FeedError(f"the calendar server did not answer within {timeout:g} seconds") from None
    except ssl.SSLCertVerificationError:
        raise FeedError("the calendar server's certificate could not be verified") from None
    except (HTTPException, OSError):
        raise FeedError("the calendar server could not be reached") from None
    raise FeedError("the calendar server redirected too many times")


@dataclass(frozen=True)
class Budget:
    """How long the next network step may wait: the read timeout, cut short by the deadline."""

    deadline: float
    read_timeout: float

    def expired(self) -> bool:
        """Tell whether the deadline has been reached."""
        return time.monotonic() >= self.deadline

    def next_timeout(self) -> float:
        """Return the wait for the next step; raise DeadlinePassed once the deadline is reached."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlinePassed
        return min(self.read_timeout, left)


def _get(
    target: Target,
    headers: dict[str, str],
    budget: Budget,
    max_bytes: int,
    tls: ssl.SSLContext | None,
) -> tuple[int, Any, bytes]:
    connection = PinnedConnection(target, budget, tls)
    try:
        connection.request("GET", target.path, headers={**headers, "Connection": "close"})
        response = connection.getresponse()
        if response.status != 200:
            return response.status, response.headers, b""
        return response.status, response.headers, _read_capped(response, max_bytes)
    finally:
        connection.release()


def _read_capped(response: HTTPResponse, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FeedError(_too_large(max_bytes))
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FeedError(_too_large(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> str:
    return f"the calendar is larger than {max_bytes // 1_000_000} MB"


class PinnedConnection(HTTPConnection):
    """An HTTP(S) connection to a checked address, speaking to the server by its name."""

    def __init__(self, target: Target, budget: Budget, tls: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port)
        self.target = target
        self.budget = budget
        self.tls = (tls or ssl.create_default_context()) if target.secure else None
        self.opened: list[socket.socket] = []

    def connect(self) -> None:
        """Connect to the first checked address that answers, never to a new lookup's."""
        error: OSError = OSError("no address")
        for address in self.target.addresses:
            try:
                raw = socket.create_connection((address, self.port), self.budget.next_timeout())
                break
            except DeadlinePassed:
                raise
            except OSError as failure:
                error = failure
        else:
            raise error
        self.opened.append(raw)
        if self.tls is not None:
            raw.settimeout(self.budget.next_timeout())
            raw = self.tls.wrap_socket(raw, server_hostname=self.target.host)
            self.opened.append(raw)
        self.sock = DeadlineSocket(raw, self.budget)

    def release(self) -> None:
        """Close the response and the sockets, once the response has been read."""
        self.close()
        for sock in self.opened:
            sock.close()


class DeadlineSocket:
    """A socket whose every send and receive waits no longer than the budget allows."""

    def __init__(self, sock: socket.socket, budget: Budget) -> None:
        self.sock = sock
        self.budget = budget

    def sendall(self, data: bytes) -> None:
        """Send everything, within the budget."""
        self.sock.settimeout(self.budget.next_timeout())
        self.sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        """Return a buffered reader whose every receive is bounded by the budget."""
        return io.BufferedReader(DeadlineReader(self.sock, self.budget), _CHUNK)

    def close(self) -> None:
        """Leave the socket open: the response may still be read from it (see release)."""


class DeadlineReader(io.RawIOBase):
    """Receive from a socket, setting its timeout from the budget before every receive."""

    def __init__(self, sock: socket.socket, budget: Budget) -> None:
        super().__init__()
        self.sock = sock
        self.budget = budget

    def readable(self) -> bool:
        """Say that this stream can be read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Receive at most len(buffer) bytes within the budget."""
        self.sock.settimeout(self.budget.next_timeout())
        return self.sock.recv_into(buffer)
