"""Fetching a feed: the address checked is the address connected to, and every fetch ends in time.

The "internet" here is a fake resolver and a fake network that route public addresses to servers
on loopback, so the checks run exactly as in production (no private addresses allowed).
"""

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.maker.calendar import calendar_address
from bot.maker.feeds import FeedError, fetch_feed

TLS = Path(__file__).parent / "data" / "tls"
FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
PUBLIC, OTHER_PUBLIC = "93.184.216.34", "93.184.216.35"


class Site:
    """A web server on loopback that answers each path as told and remembers each request."""

    def __init__(self, routes: dict[str, Callable[[BaseHTTPRequestHandler], None]]) -> None:
        self.hosts: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hosts.append(self.headers.get("Host", ""))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    routes.get(self.path, not_found)(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def calendar(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(FEED)))
    handler.end_headers()
    handler.wfile.write(FEED)


def not_found(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(404)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def redirect_to(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


class Internet:
    """A resolver whose answers are scripted, and a network that routes public addresses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.routes: dict[str, int] = {}
        self.connections: list[str] = []
        real = socket.create_connection

        def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            self.connections.append(address[0])
            port = self.routes.get(address[0])
            if port is None:
                raise ConnectionRefusedError(f"nothing routes to {address[0]}")
            return real(("127.0.0.1", port), *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", connect)

    def resolve(self, host: str, port: int) -> list[str]:
        """Answer with the next scripted answer for the name (the last one again and again)."""
        self.lookups.append(host)
        answers = self.names.get(host)
        if not answers:
            raise socket.gaierror(f"{host} not found")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def internet(monkeypatch: pytest.MonkeyPatch) -> Internet:
    return Internet(monkeypatch)


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site(
        {
            "/cal.ics": calendar,
            "/to-metadata": redirect_to("http://metadata.example/latest/cal.ics"),
            "/to-user-info": redirect_to("http://alice:secret@calendar.example/cal.ics"),
            "/to-other": redirect_to("http://other.example/cal.ics"),
        }
    )
    yield served
    served.stop()


def test_the_connection_goes_to_the_address_that_was_checked(internet: Internet, site: Site):
    # The first answer is public and passes the check; any later lookup would say loopback.
    internet.names["calendar.example"] = [[PUBLIC], ["127.0.0.1"]]
    internet.routes[PUBLIC] = site.port
    fetched = fetch_feed("http://calendar.example/cal.ics", resolve=internet.resolve)
    assert fetched.body == FEED
    assert internet.lookups == ["calendar.example"]
    assert internet.connections == [PUBLIC]
    assert site.hosts == ["calendar.example"]  # the server is still asked for the name


def test_every_address_a_name_resolves_to_is_checked(internet: Internet, site: Site) -> None:
    internet.names["calendar.example"] = [[PUBLIC, "10.0.0.7"]]
    internet.routes[PUBLIC] = site.port
    with pytest.raises(FeedError, match="private network"):
        fetch_feed("http://calendar.example/cal.ics", resolve=internet.resolve)
    assert internet.connections == []


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/to-metadata", "private network"),
        ("/to-user-info", "user name or password"),
    ],
)
def test_a_redirect_is_checked_before_it_is_followed(internet, site, path, problem) -> None:
    internet.names["calendar.example"] = [[PUBLIC]]
    internet.names["metadata.example"] = [["169.254.169.254"]]
    internet.routes[PUBLIC] = site.port
    with pytest.raises(FeedError, match=problem):
        fetch_feed(f"http://calendar.example{path}", resolve=internet.resolve)
    assert internet.connections == [PUBLIC]


def test_a_redirect_to_another_public_server_is_followed(internet: Internet, site: Site) -> None:
    internet.names["calendar.example"] = [[PUBLIC]]
    internet.names["other.example"] = [[OTHER_PUBLIC]]
    internet.routes[PUBLIC] = internet.routes[OTHER_PUBLIC] = site.port
    fetched = fetch_feed("http://calendar.example/to-other", resolve=internet.resolve)
    assert fetched.body == FEED
    assert internet.connections == [PUBLIC, OTHER_PUBLIC]
    assert site.hosts == ["calendar.example", "other.example"]


def test_over_tls_the_checked_address_is_asked_for_the_name_it_was_found_by(
    internet: Internet, site: Site
) -> None:
    names: list[str | None] = []
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(TLS / "calendar.example.pem", TLS / "calendar.example.key")
    served.sni_callback = lambda _socket, name, _context: names.append(name)
    site.server.socket = served.wrap_socket(site.server.socket, server_side=True)
    internet.names["calendar.example"] = internet.names["impostor.example"] = [[PUBLIC]]
    internet.routes[PUBLIC] = site.port
    trusted = ssl.create_default_context(cafile=TLS / "calendar.example.pem")
    address = f"https://calendar.example:{site.port}/cal.ics"
    fetched = fetch_feed(address, resolve=internet.resolve, tls=trusted)
    assert fetched.body == FEED
    assert names == ["calendar.example"]
    assert site.hosts == [f"calendar.example:{site.port}"]
    # The same address under another name is refused: its certificate is not for that name.
    with pytest.raises(FeedError, match="certificate"):
        fetch_feed(
            f"https://impostor.example:{site.port}/cal.ics", resolve=internet.resolve, tls=trusted
        )
    assert internet.connections == [PUBLIC, PUBLIC]


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8080\\@93.184.216.34/x.ics",
        "http://alice:secret@calendar.example/x.ics",
        "https://alice@calendar.example/x.ics",
    ],
)
def test_addresses_with_a_user_name_or_password_are_refused(address: str, internet) -> None:
    with pytest.raises(ValueError):
        calendar_address(address)
    internet.names["calendar.example"] = internet.names["93.184.216.34"] = [[PUBLIC]]
    with pytest.raises(FeedError, match="user name or password"):
        fetch_feed(address, resolve=internet.resolve)
    assert internet.lookups == internet.connections == []


class Trickle:
    """A server that sends its answer one byte at a time, until the reader hangs up."""

    def __init__(self, answer: bytes) -> None:
        self.hung_up = threading.Event()
        trickle = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # Stops on its own after a minute, so that a reader without a deadline fails
                # this test instead of hanging it.
                for byte in answer.ljust(3000, b" ")[:3000]:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        trickle.hung_up.set()
                        return
                    time.sleep(0.02)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cal.ics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nX-Padding: " + b"x" * 3000,  # headers that never end
        b"HTTP/1.0 200 OK\r\nContent-Type: text/calendar\r\n\r\n" + FEED * 100,  # a slow body
    ],
    ids=["headers", "body"],
)
def test_a_feed_that_trickles_is_cut_off_at_the_deadline(answer: bytes) -> None:
    server = Trickle(answer)
    try:
        # Each byte comes well within the read timeout; only the deadline can end this.
        with pytest.raises(FeedError, match=r"did not send the calendar within 0\.5 seconds"):
            fetch_feed(server.url(), timeout=5, deadline=0.5, allow_private=True)
        assert server.hung_up.wait(timeout=30)
    finally:
        server.stop()
