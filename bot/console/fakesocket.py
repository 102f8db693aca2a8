"""A local stand-in for Slack's Socket Mode: a WebSocket server on loopback that sends envelopes.

Like Slack, it greets each connection with `hello`, sends envelopes to the newest connection,
records each acknowledgement, and sends an event again, with `retry_attempt` raised, when its
connection ended before it was acknowledged. Standard library only (RFC 6455, text frames).
"""

import base64
import contextlib
import functools
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from socketserver import BaseRequestHandler, ThreadingTCPServer
from typing import Any

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# How often a server's loop looks whether it is asked to stop: socketserver's 0.5 s made each
# stop wait about that long.
STOP_POLL_SECONDS = 0.05
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


@dataclass(frozen=True)
class Ack:
    """The app's acknowledgement of one envelope, and the answer riding on it if any."""

    envelope_id: str
    payload: dict[str, Any] | None


@dataclass
class Envelope:
    """An envelope Slack sends over the socket: `slash_commands`, `interactive` or `events_api`."""

    type: str
    payload: dict[str, Any]
    envelope_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    retry_attempt: int = 0
    connection: "_Connection | None" = field(default=None, repr=False, compare=False)

    def message(self) -> dict[str, Any]:
        """Return the envelope as Slack writes it on the socket."""
        message: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.type != "events_api",
        }
        if self.type == "events_api":
            message["retry_attempt"] = self.retry_attempt
            message["retry_reason"] = "timeout" if self.retry_attempt else ""
        return message


class FakeSocketMode:
    """Slack's Socket Mode on 127.0.0.1: greets, sends envelopes, records acknowledgements."""

    def __init__(self) -> None:
        self.acks: list[Ack] = []
        self.connections_opened = 0
        self._live: list[_Connection] = []
        self._unacknowledged: dict[str, Envelope] = {}
        self._lock = threading.Condition()
        self._tickets = itertools.count(1)
        self._server = ThreadingTCPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True

    def url(self) -> str:
        """Return a fresh address to connect to, as `apps.connections.open` answers."""
        port = self._server.server_address[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={next(self._tickets)}&app_id=AFOCUSBOT"

    def start(self) -> "FakeSocketMode":
        """Start accepting connections in a background thread."""
        serve = functools.partial(self._server.serve_forever, STOP_POLL_SECONDS)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close every connection and stop accepting new ones."""
        self._server.shutdown()
        self._server.server_close()
        for connection in self._connections():
            connection.drop()

    @property
    def connected(self) -> int:
        """Return how many connections are open now."""
        return len(self._connections())

    def wait_for_connections(self, opened: int, timeout: float = 30.0) -> bool:
        """Wait until `opened` connections have been greeted in all, one of them still open."""
        return self._wait(lambda: self.connections_opened >= opened and bool(self._live), timeout)

    def send(self, envelope: Envelope, timeout: float = 30.0) -> None:
        """Send an envelope on the newest connection, or on the next one to open if none is."""
        with self._lock:
            self._unacknowledged[envelope.envelope_id] = envelope
            if self._live:
                self._deliver(envelope, self._live[-1])
        if not self._wait(lambda: envelope.connection is not None, timeout):
            raise TimeoutError("no Socket Mode connection to send an envelope on")

    def ack_for(self, envelope_id: str, timeout: float = 30.0) -> Ack | None:
        """Wait for the acknowledgement of an envelope; None if none came in time."""
        found: list[Ack] = []

        def acknowledged() -> bool:
            found[:] = [ack for ack in self.acks if ack.envelope_id == envelope_id]
            return bool(found)

        return found[0] if self._wait(acknowledged, timeout) else None

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the newest connection's client to reconnect, as Slack does every few hours.

        Nothing new goes out on that connection after the request; the client closes it.
        """
        connection = self._newest()
        self._ended(connection)
        connection.send_json({"type": "disconnect", "reason": reason, "debug_info": {}})

    def close_newest(self, *, abruptly: bool = False) -> None:
        """Close the newest connection: with a close frame, or by dropping the line."""
        connection = self._newest()
        self._ended(connection)  # nothing more goes out on it, as with Slack
        if abruptly:
            connection.drop()
        else:
            connection.close()

    def _newest(self) -> "_Connection":
        with self._lock:
            if not self._live:
                raise ConnectionError("no Socket Mode connection is open")
            return self._live[-1]

    def _connections(self) -> list["_Connection"]:
        with self._lock:
            return list(self._live)

    def _wait(self, condition: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def _greeted(self, connection: "_Connection") -> None:
        with self._lock:
            self._live.append(connection)
            self.connections_opened += 1
            self._resend_lost()
            self._lock.notify_all()

    def _ended(self, connection: "_Connection") -> None:
        with self._lock:
            if connection in self._live:
                self._live.remove(connection)
            self._resend_lost()
            self._lock.notify_all()

    def _resend_lost(self) -> None:
        """Send what waits for a connection, and again events lost with theirs (lock held).

        Like Slack, only events come again; a command or a click whose connection ended
        unacknowledged is not sent again (its acknowledgement may still come on another).
        """
        if not self._live:
            return
        for envelope in self._unacknowledged.values():
            if envelope.connection is None:
                self._deliver(envelope, self._live[-1])
            elif envelope.connection not in self._live and envelope.type == "events_api":
                envelope.retry_attempt += 1
                self._deliver(envelope, self._live[-1])

    def _deliver(self, envelope: Envelope, connection: "_Connection") -> None:
        envelope.connection = connection
        # A connection that is ending loses it: the envelope goes out again on the next one.
        with contextlib.suppress(OSError):
            connection.send_json(envelope.message())
        self._lock.notify_all()

    def _acknowledged(self, message: dict[str, Any]) -> None:
        envelope_id = str(message.get("envelope_id", ""))
        with self._lock:
            self.acks.append(Ack(envelope_id, message.get("payload")))
            self._unacknowledged.pop(envelope_id, None)
            self._lock.notify_all()


class _Connection:
    """One WebSocket connection, after its handshake."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(TEXT, json.dumps(message).encode())

    def send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([127]) + struct.pack("!Q", len(payload))
        with self._send_lock:
            self.sock.sendall(header + payload)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the line may be gone already
            self.send_frame(CLOSE, struct.pack("!H", 1000))

    def drop(self) -> None:
        with contextlib.suppress(OSError):  # the line may be gone already
            self.sock.shutdown(socket.SHUT_RDWR)

    def frames(self) -> Any:
        """Yield (opcode, payload) for each frame the client sends, until the line ends."""
        reader = self.sock.makefile("rb")
        while True:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", reader.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", reader.read(8))[0]
            mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = reader.read(length)
            if len(data) < length:
                return
            yield opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))


def _handler_for(fake: FakeSocketMode) -> type[BaseRequestHandler]:
    class Handler(BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            key = _handshake_key(sock)
            if key is None:
                return
            accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
            sock.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            connection = _Connection(sock)
            hello = {"type": "hello", "num_connections": fake.connected + 1, "debug_info": {}}
            connection.send_json({**hello, "connection_info": {"app_id": "AFOCUSBOT"}})
            fake._greeted(connection)
            try:
                self._converse(connection)
            except OSError:
                pass  # the client or a test dropped the line
            finally:
                fake._ended(connection)

        def _converse(self, connection: _Connection) -> None:
            for opcode, data in connection.frames():
                if opcode == PING:
                    connection.send_frame(PONG, data)
                elif opcode == CLOSE:
                    connection.send_frame(CLOSE, data[:2])
                    return
                elif opcode == TEXT:
                    fake._acknowledged(json.loads(data))

    return Handler


def _handshake_key(sock: socket.socket) -> str | None:
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = sock.recv(1024)
        if not chunk:
            return None
        request += chunk
    for line in request.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            return value.strip()
    return None
