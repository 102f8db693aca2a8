"""Send signed commands and time both the acknowledgement and the answer, wherever it comes."""

import contextlib
import http.client
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.answers import AnswerBook
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
    """
    signed = [[(planned, *signer.sign(planned)) for planned in lane] for lane in lanes]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + budget

    def run_lane(lane: list[tuple[Planned, str, SignedRequest]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for number, (planned, request_id, request) in enumerate(lane):
            if number and time.monotonic() > deadline:
                break
            outcome = _outcome(book, request_id, planned, _send(connection, request))
            with lock:
                outcomes.append(outcome)
        connection.close()

    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in signed]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(outcomes, time.monotonic() - started)


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
