"""Send signed commands and time both the acknowledgement and the answer, wherever it comes."""

import contextlib
import http.client
import math
import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.answers import Answer, AnswerBook
from bench.command_mix import EVENTS_PATH, Planned, Signer
from bench.http_load import percentile
from bot.console.fakeslack import SignedRequest

ANSWER_TIMEOUT = 60.0  # an answer later than this counts as lost
SLACK_ACK_SECONDS = 3.0
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Outcome:
    """One command: HTTP status, seconds to the acknowledgement and to the answer (None: lost)."""

    status: int
    ack: float
    answer: float | None
    lazy: bool  # the answer came through the response_url


@dataclass(frozen=True)
class Load:
    """The outcomes of a load and how long it took until the last answer."""

    outcomes: list[Outcome]
    wall: float

    @property
    def answered(self) -> list[float]:
        """Return the seconds to each answer that came."""
        return [outcome.answer for outcome in self.outcomes if outcome.answer is not None]

    @property
    def failures(self) -> int:
        """Return how many commands got an error or no right answer."""
        return sum(o.status != 200 or o.answer is None for o in self.outcomes)

    def summary(self) -> dict[str, float]:
        """Return the figures of this load: throughput, p50/p99 of ack and answer, failures."""
        acks = [outcome.ack for outcome in self.outcomes]
        answers = self.answered or [float("nan")]
        return {
            "requests": len(self.outcomes),
            "throughput": len(self.answered) / self.wall,
            "ack_p50_ms": percentile(acks, 50) * 1000,
            "ack_p99_ms": percentile(acks, 99) * 1000,
            "ack_max_ms": max(acks) * 1000,
            "answer_p50_ms": percentile(answers, 50) * 1000,
            "answer_p99_ms": percentile(answers, 99) * 1000,
            "answer_max_ms": max(answers) * 1000,
            "acks_after_3s": sum(o.ack > SLACK_ACK_SECONDS for o in self.outcomes),
            "lazy": sum(outcome.lazy for outcome in self.outcomes),
            "failures": self.failures,
        }


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def wait_until_idle(pids: list[int], quiet: float = 0.02, step: float = 0.5) -> None:
    """Wait until the processes spend less than `quiet` CPU seconds in a step (at most 5 min).

    Commands whose acknowledgement Bolt gave up on still run to their end: the next
    measurement must not pay for them.
    """
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(step)
        if sum(cpu_seconds(pid) for pid in pids) - before < quiet:
            return


def _send(
    connection: http.client.HTTPConnection, signed: SignedRequest
) -> tuple[int, str, float, float]:
    """Send one command; return the HTTP status (0: no answer at all), body, when sent and acked."""
    started = time.monotonic()
    try:
        connection.request("POST", EVENTS_PATH, signed.body.encode(), signed.headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        connection.close()  # the next request connects again
        return 0, "", started, time.monotonic()
    return response.status, body, started, time.monotonic()


def _outcome(
    book: AnswerBook,
    request_id: str,
    planned: Planned,
    sent: tuple[int, str, float, float],
    *,
    timeout: float = ANSWER_TIMEOUT,
) -> Outcome:
    status, body, started, acked = sent
    if status == 200 and planned.expected in body:
        return Outcome(status, acked - started, acked - started, lazy=False)
    found = book.wait(request_id, planned.expected, timeout) if status == 200 else None
    answer = found.at - started if found is not None else None
    return Outcome(status, acked - started, answer, lazy=found is not None)


def closed_loop(
    port: int,
    lanes: list[list[Planned]],
    book: AnswerBook,
    signer: Signer,
    budget: float = math.inf,
) -> Load:
    """Send each lane's commands over a keep-alive connection, the next once the last answered.

    After `budget` seconds a lane sends nothing more (but each sends at least one command).
    One thread drives every connection with requests encoded beforehand, so that the load
    costs the machine's cores little beside what the server spends (a thread per connection
    and http.client cost about a sixth of a `/focus` answer).
    """
    encoded = [
        [_Command(planned, *signer.sign(planned), port) for planned in lane] for lane in lanes
    ]
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + budget
    selector = selectors.DefaultSelector()
    waiting: list[_Lane] = []  # acknowledged without the answer: it comes through response_url
    started = time.monotonic()
    for commands in encoded:
        _Lane(commands, selector).send_next(outcomes, deadline)
    while selector.get_map() or waiting:
        for key, _ in selector.select(timeout=0.01 if waiting else None):
            lane: _Lane = key.data
            if not lane.read():
                continue
            if lane.answer_pending(book):
                lane.pause()
                waiting.append(lane)
            else:
                lane.record(outcomes, book, deadline)
        for lane in list(waiting):
            if not lane.answer_pending(book) or lane.given_up():
                waiting.remove(lane)
                lane.record(outcomes, book, deadline)
    selector.close()
    return Load(outcomes, time.monotonic() - started)


@dataclass(frozen=True)
class _Command:
    """A planned command, its request id (its response_url's last part) and its HTTP request."""

    planned: Planned
    request_id: str
    signed: SignedRequest
    port: int

    def encoded(self) -> bytes:
        """Return the request as sent on the wire."""
        body = self.signed.body.encode()
        head = [f"POST {EVENTS_PATH} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        head += [f"{name}: {value}" for name, value in self.signed.headers.items()]
        head.append(f"Content-Length: {len(body)}")
        return "\r\n".join(head).encode() + b"\r\n\r\n" + body


class _Lane:
    """One keep-alive connection sending its commands one after another."""

    def __init__(self, commands: list[_Command], selector: selectors.BaseSelector) -> None:
        self.commands = iter(commands)
        self.selector = selector
        self.connection: socket.socket | None = None
        self.listening = False  # whether the selector watches the connection
        self.sent = 0
        self.current: _Command | None = None
        self.started = self.acked = 0.0
        self.buffer = b""
        self.acknowledgement: tuple[int, str] = (0, "")  # status (0: none came) and body

    def send_next(self, outcomes: list[Outcome], deadline: float) -> None:
        """Send the lane's next command, or close it when it has none or its time is up."""
        command = next(self.commands, None)
        if command is None or (self.sent and time.monotonic() > deadline):
            self._close()
            return
        self.current, self.buffer = command, b""
        self.sent += 1
        self.started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = socket.create_connection(("127.0.0.1", command.port), 120)
            if not self.listening:
                self.selector.register(self.connection, selectors.EVENT_READ, self)
                self.listening = True
            self.connection.sendall(command.encoded())
        except OSError:
            self._failed(outcomes, deadline)

    def read(self) -> bool:
        """Read what came on the connection; return whether the acknowledgement is complete."""
        assert self.connection is not None
        try:
            chunk = self.connection.recv(65536)
        except OSError:
            chunk = b""
        self.acked = time.monotonic()
        if not chunk:
            self.acknowledgement = (0, "")
            return True
        self.buffer += chunk
        head, separator, body = self.buffer.partition(b"\r\n\r\n")
        if not separator:
            return False
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        if len(body) < int(headers.get("content-length", "0")):
            return False
        self.acknowledgement = (int(lines[0].split()[1]), body.decode(errors="replace"))
        if headers.get("connection") == "close":
            self._close()
        return True

    def answer_pending(self, book: AnswerBook) -> bool:
        """Return whether an acknowledged command's answer is yet to come through response_url."""
        status, _ = self.acknowledgement
        return status == 200 and not self._in_acknowledgement() and self._posted(book) is None

    def pause(self) -> None:
        """Stop watching the connection while the answer comes another way."""
        if self.connection is not None and self.listening:
            self.selector.unregister(self.connection)
            self.listening = False

    def given_up(self) -> bool:
        """Return whether the answer is later than counts."""
        return time.monotonic() - self.acked > ANSWER_TIMEOUT

    def record(self, outcomes: list[Outcome], book: AnswerBook, deadline: float) -> None:
        """Note the command's outcome and send the lane's next one."""
        status, _ = self.acknowledgement
        if status == 0:
            self._failed(outcomes, deadline)
            return
        ack = self.acked - self.started
        if self._in_acknowledgement():
            outcomes.append(Outcome(status, ack, ack, lazy=False))
        else:
            posted = self._posted(book) if status == 200 else None
            answer = posted.at - self.started if posted is not None else None
            outcomes.append(Outcome(status, ack, answer, lazy=posted is not None))
        self.send_next(outcomes, deadline)

    def _in_acknowledgement(self) -> bool:
        assert self.current is not None
        status, body = self.acknowledgement
        return status == 200 and self.current.planned.expected in body

    def _posted(self, book: AnswerBook) -> Answer | None:
        assert self.current is not None
        return book.wait(self.current.request_id, self.current.planned.expected, 0)

    def _failed(self, outcomes: list[Outcome], deadline: float) -> None:
        """Note a command that got no answer at all; the next one connects again."""
        outcomes.append(Outcome(0, time.monotonic() - self.started, None, lazy=False))
        self._close()
        self.send_next(outcomes, deadline)

    def _close(self) -> None:
        self.pause()
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def burst(port: int, commands: list[Planned], book: AnswerBook, signer: Signer) -> Load:
    """Send every command at the same instant, each on a connection of its own."""
    signed = [(planned, *signer.sign(planned)) for planned in commands]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(signed) + 1)

    def run_one(planned: Planned, request_id: str, request: SignedRequest) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        with contextlib.suppress(OSError):  # the backlog is full: sending will try again
            connection.connect()
        ready.wait()
        outcome = _outcome(book, request_id, planned, _send(connection, request))
        with lock:
            outcomes.append(outcome)
        connection.close()

    threads = [threading.Thread(target=run_one, args=each) for each in signed]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    return Load(outcomes, time.monotonic() - started)
