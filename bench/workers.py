"""Throughput against the number of worker processes on PostgreSQL: `python -m bench.workers URL`.

Serves focusbot as `focusbot start --workers N` does (bot.app.web.serve: forked workers sharing
one socket), fires signed commands at concurrency 64, and reports requests per second, failures,
the server's CPU time per request and the most connections it held at once.
"""

import argparse
import http.client
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.data import fill
from bench.http_load import EXPECTED, fire, percentile, run_together, signed_commands
from bench.processes import bench_settings
from bot.console.fakeslack import FakeSlack, SignedRequest
from bot.runtime.settings import normalize_database_url
from storage.db import make_engine
from storage.schema import upgrade

_SPAWN = multiprocessing.get_context("spawn")
COMMANDS = ("/focus", "/pain <text>")


def _serve(slack_api_url: str, database_url: str, port: int, workers: int) -> None:
    from bot.app.factory import create_focusbot
    from bot.app.web import serve

    logging.basicConfig(level=logging.ERROR)
    settings = bench_settings(slack_api_url, database_url)
    serve(partial(create_focusbot, settings), "127.0.0.1", port, workers)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _tree_cpu_seconds(pid: int) -> float:
    """Return the user+system CPU seconds of a process and its children so far."""
    total = 0.0
    for each in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(child) for child in children)
    return found


class _ConnectionPeak:
    """Sample the database's connections: the most at once, and the most waiting on a lock."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.engine = make_engine(admin_url)
        self.database = database
        self.peak = 0
        self.peak_lock_waits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "_ConnectionPeak":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _sample(self) -> None:
        query = text(
            "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') "
            "FROM pg_stat_activity WHERE datname = :name"
        )
        while not self._stop.wait(0.1):
            with self.engine.connect() as connection:
                count, waiting = connection.execute(query, {"name": self.database}).one()
            self.peak = max(self.peak, int(count))
            self.peak_lock_waits = max(self.peak_lock_waits, int(waiting))


def _with_own_response_urls(
    requests: list[SignedRequest], fake: FakeSlack, name: str
) -> list[SignedRequest]:
    """Give each request a response_url of its own, so that each answer can be counted."""
    from urllib.parse import parse_qsl

    from bench.processes import SIGNING_SECRET
    from bot.console.fakeslack import SlackRequests

    signer = SlackRequests(SIGNING_SECRET)
    own = []
    for index, request in enumerate(requests):
        fields = dict(parse_qsl(request.body))
        own.append(
            signer.command(
                fields["command"],
                fields["text"],
                user_id=fields["user_id"],
                channel_id=fields["channel_id"],
                response_url=fake.response_url(f"{name}-{index}"),
            )
        )
    return own


def _fire_counting(
    port: int, requests: list[SignedRequest], concurrency: int, answered: str
) -> dict[str, Any]:
    """Send the requests; count answers in the ack, empty acks, late acks and errors."""
    order = itertools.count()
    latencies: list[float] = []
    counts = {"in_ack": 0, "empty_ack": 0, "error": 0, "after_3s": 0}
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while (index := next(order)) < len(requests):
            request = requests[index]
            started = time.perf_counter()
            try:
                connection.request("POST", "/slack/events", request.body.encode(), request.headers)
                response = connection.getresponse()
                status, body = response.status, response.read().decode()
            except (OSError, http.client.HTTPException):
                status, body = 0, ""
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                kind = "error" if status != 200 else "in_ack" if answered in body else "empty_ack"
                counts[kind] += 1
                counts["after_3s"] += elapsed > 3.0
        connection.close()

    wall = run_together(worker, concurrency)
    return counts | {
        "throughput": len(latencies) / wall,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def _posted_answers(fake: FakeSlack, name: str, count: int, answered: str) -> list[int]:
    """Return how many answers reached each request's response_url, once none came for 2 s."""
    deadline = time.monotonic() + 120
    seen = -1
    while len(fake.calls) != seen and time.monotonic() < deadline:
        seen = len(fake.calls)
        time.sleep(2)
    return [
        sum(answered in str(call.get("text")) for call in fake.calls_to(f"/response/{name}-{i}"))
        for i in range(count)
    ]


@contextmanager
def _database(admin_url: str, size: int) -> Iterator[tuple[str, str]]:
    name = f"bench_workers_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        fill(engine, size)
        engine.dispose()
        yield url, name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def measure(
    admin_url: str, workers: list[int], requests: int, concurrency: int, size: int
) -> list[dict[str, Any]]:
    """Measure each command's throughput with each number of workers."""
    rows = []
    seed = iter(range(1, 10_000))
    fake = FakeSlack().start()
    with _database(admin_url, size) as (url, name):
        response_url = fake.response_url("warmup")
        for count in workers:
            port = _free_port()
            server = _SPAWN.Process(target=_serve, args=(fake.base_url, url, port, count))
            server.start()
            try:
                _wait_healthy(port)
                for command in COMMANDS:
                    warmup = signed_commands(command, 20 * count, response_url, next(seed))
                    fire(port, warmup, 4, "")
                    time.sleep(2)  # late warm-up answers
                    label = f"{command.split()[0][1:]}-{count}"
                    load = _with_own_response_urls(
                        signed_commands(command, requests, response_url, next(seed)), fake, label
                    )
                    cpu_before = _tree_cpu_seconds(server.pid or 0)
                    with _ConnectionPeak(admin_url, name) as connections:
                        result = _fire_counting(port, load, concurrency, EXPECTED[command])
                    posted = _posted_answers(fake, label, requests, EXPECTED[command])
                    cpu = _tree_cpu_seconds(server.pid or 0) - cpu_before
                    rows.append(
                        result
                        | {
                            "command": command,
                            "workers": count,
                            "late_answers": sum(posted),
                            "posted_twice": sum(n > 1 for n in posted),
                            "cpu_ms": cpu * 1000 / requests,
                            "connections": connections.peak,
                            "lock_waits": connections.peak_lock_waits,
                        }
                    )
                    print(_line(rows[-1]), flush=True)
            finally:
                os.kill(server.pid or 0, signal.SIGTERM)
                server.join(timeout=30)
    fake.stop()
    return rows


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['command']:<14} workers={row['workers']} {row['throughput']:6.1f} req/s "
        f"p99 {row['p99_ms']:5.0f} ms | in ack {row['in_ack']:4d}, empty ack {row['empty_ack']:4d}"
        f" + posted {row['late_answers']:4d} (twice {row['posted_twice']}), errors {row['error']}"
        f", acked after 3 s {row['after_3s']} | CPU {row['cpu_ms']:5.1f} ms/req, "
        f"connections {row['connections']} ({row['lock_waits']} waiting on a lock)"
    )


def main() -> None:
    """Run the measurement and print one line per command and number of workers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("postgres_url", help="a PostgreSQL server that lets us CREATE DATABASE")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size", type=int, default=10_000, help="pain points in the data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows = measure(
        normalize_database_url(args.postgres_url),
        [int(count) for count in args.workers.split(",")],
        args.requests,
        args.concurrency,
        args.size,
    )
    one = {row["command"]: row["throughput"] for row in rows if row["workers"] == 1}
    for row in rows:
        ratio = row["throughput"] / one[row["command"]]
        print(f"{row['command']} with {row['workers']} workers: {ratio:.2f}× one worker")


if __name__ == "__main__":
    main()
