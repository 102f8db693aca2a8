"""`focusbot run --http --workers N` on PostgreSQL under 64 connections: does it scale with N?"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

from bench.answers import AnswerBook, answer_receiver
from bench.command_load import closed_loop, cpu_seconds, wait_until_idle
from bench.command_mix import Signer, plans
from bench.data import CACHE, postgres_copy
from bench.processes import BOT_TOKEN, SIGNING_SECRET, fake_slack_process
from bot.runtime.settings import normalize_database_url
from storage.db import make_engine

WORKERS = (1, 2, 4)
KINDS = ("/focus", "/pain <text>")
LANES, PER_LANE = 64, 6
BUDGET_SECONDS = 30.0  # per load: no lane starts a command later (each sends one at least)


@dataclass
class Running:
    """A focusbot serving over HTTP: its port, its processes, and those left after stopping it."""

    port: int
    pids: list[int]
    left_running: int = 0


def measure(
    postgres_url: str,
    size: int,
    workers: tuple[int, ...] = WORKERS,
    kinds: tuple[str, ...] = KINDS,
    per_lane: int = PER_LANE,
) -> dict[str, Any]:
    """Per number of workers and command: throughput, latencies, failures and CPU per request.

    Also how many processes of each run were still running once its parent had stopped.
    """
    found: dict[str, Any] = {}
    left: dict[str, int] = {}
    print(f"  filling PostgreSQL with {size:,} pain points …", flush=True)
    name = f"focusbot_bench_{uuid.uuid4().hex[:8]}"  # tells this run's database sessions apart
    url = _with_query(normalize_database_url(postgres_url), f"application_name={name}")
    with (
        postgres_copy(url, size) as database_url,
        fake_slack_process() as slack_url,
        answer_receiver() as book,
    ):
        signer = Signer(book.url)
        sessions = _Sessions(postgres_url, name)
        for count in workers:
            print(f"  {count} worker(s) …", flush=True)
            with _focusbot(count, slack_url, database_url) as running:
                found[str(count)] = {
                    kind: _measure_one(running, book, signer, sessions, kind, seed, per_lane)
                    for seed, kind in enumerate(kinds, start=1)
                }
            left[str(count)] = running.left_running
        sessions.engine.dispose()
    return {"workers": found, "left_running": left}


def _measure_one(
    running: Running,
    book: AnswerBook,
    signer: Signer,
    sessions: "_Sessions",
    kind: str,
    seed: int,
    per_lane: int,
) -> dict[str, Any]:
    # Enough for every worker to build what it builds on first use (the similarity index).
    warmup = [plans(kind, lane, 3, seed) for lane in range(LANES)]
    closed_loop(running.port, warmup, book, signer, BUDGET_SECONDS)
    wait_until_idle(running.pids)
    lanes = [plans(kind, lane, per_lane, seed + 100) for lane in range(LANES)]
    before = sum(cpu_seconds(pid) for pid in running.pids)
    before_all = _everyone_cpu_seconds(running.pids, sessions)
    before_sending = cpu_seconds(os.getpid())
    load = closed_loop(running.port, lanes, book, signer, BUDGET_SECONDS)
    sending = cpu_seconds(os.getpid()) - before_sending
    wait_until_idle(running.pids)
    spent = sum(cpu_seconds(pid) for pid in running.pids) - before
    spent_all = _everyone_cpu_seconds(running.pids, sessions) - before_all
    return load.summary() | {
        "cpu_ms": spent * 1000 / len(load.outcomes),
        "cpu_ms_all": spent_all * 1000 / len(load.outcomes),
        "cpu_ms_load_generator": sending * 1000 / len(load.outcomes),  # and the answers' book
        "load_average": os.getloadavg()[0],
    }


class _Sessions:
    """This run's PostgreSQL server processes, found by the application name its URL sets."""

    def __init__(self, postgres_url: str, name: str) -> None:
        self.engine = make_engine(normalize_database_url(postgres_url), pool_size=1)
        self.name = name

    def pids(self) -> list[int]:
        """Return the server processes of this run's sessions."""
        query = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
        with self.engine.connect() as connection:
            return [int(pid) for pid in connection.execute(query, {"name": self.name}).scalars()]


def _everyone_cpu_seconds(focusbot: list[int], sessions: _Sessions) -> float:
    """Return the CPU seconds so far of focusbot, its PostgreSQL sessions and this benchmark.

    The benchmark's own part (the load generator, the fake Slack and the answer receiver) is
    work that a real Slack does; it is counted so that an answer sent twice shows.
    """
    bench = psutil.Process()
    pids = [*focusbot, *sessions.pids(), bench.pid, *(c.pid for c in bench.children(True))]
    total = 0.0
    for pid in set(pids):
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def _with_query(url: str, parameter: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{parameter}"


@contextmanager
def _focusbot(workers: int, slack_url: str, database_url: str) -> Iterator[Running]:
    """Run `focusbot run --http --workers N` until SIGTERM; kill what outlives its parent."""
    port = _free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "PAIN_", "LOG_"))
    } | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "ERROR",
    }
    command = [str(Path(sys.executable).parent / "focusbot"), "run", "--http"]
    command += ["--port", str(port), "--workers", str(workers)]
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / f"workers-{workers}.log"  # what focusbot said, errors included
    with (
        tempfile.TemporaryDirectory() as nowhere,  # no .env is read
        log.open("w") as output,
    ):
        process = subprocess.Popen(
            command, env=environment, cwd=nowhere, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_health(port, process)
            parent = psutil.Process(process.pid)
            children = parent.children(recursive=True)
            running = Running(port, [parent.pid, *(child.pid for child in children)])
            yield running
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _, alive = psutil.wait_procs(children, timeout=5)
            running.left_running = len(alive)
            for child in alive:  # they would hold their database connections
                child.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"focusbot stopped at start-up ({process.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("focusbot did not answer /healthz within two minutes")
