"""Issue #15's figures: each command's cost against a bare Bolt app, a burst, workers on PostgreSQL.

`python -m bench.commands [--part cpu|burst|workers] [--postgres-url URL] [--save-baseline]`
measures, keeps the figures in bench/commands_results.json and rewrites their section of
BENCHMARKS.md; --save-baseline also keeps them as the "before" the report compares with.
"""

import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import commands_report, worker_scaling
from bench.answers import AnswerBook, answer_receiver
from bench.command_load import burst, closed_loop, cpu_seconds, wait_until_idle
from bench.command_mix import KINDS, Signer, bare_app, plans
from bench.data import working_copy
from bench.http_load import focusbot_app
from bench.processes import Server, fake_slack_process, start_server

DATA_SIZE = 100_000
LANES = 64  # the concurrency of the load
WARMUP_LANES = 4
BUDGET_SECONDS = 15.0  # per load, so that a slow command does not take the run's whole time
BURST_PER_KIND = 25  # six kinds: 150 commands
BURST_LANES = range(100, 100 + BURST_PER_KIND)  # /focus add in channels of their own
RESULTS = Path(__file__).resolve().parent / "commands_results.json"
BASELINE = Path(__file__).resolve().parent / "commands_baseline.json"


def main() -> None:
    """Measure the parts asked for, then rewrite the figures in BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("cpu", "burst", "workers"), action="append")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--requests", type=int, default=200, help="per command at concurrency 1")
    parser.add_argument("--save-baseline", action="store_true", help="keep as the 'before'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    parts = args.part or ["cpu", "burst", "workers"]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for part in parts:
        print(f"{part} …", flush=True)
        started, load = time.monotonic(), os.getloadavg()
        if part == "cpu":
            figures: dict[str, Any] = {"kinds": measure_cpu(args.requests)}
        elif part == "burst":
            figures = {"servers": measure_burst()}
        elif not args.postgres_url:
            print("workers: skipped, no --postgres-url (or BENCH_DATABASE_URL)")
            continue
        else:
            figures = worker_scaling.measure(args.postgres_url, DATA_SIZE)
        figures |= _when(started, load)
        results[part] = figures
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        if args.save_baseline:
            before = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
            BASELINE.write_text(json.dumps(before | {part: figures}, indent=1) + "\n")
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    commands_report.write(results, baseline)
    print(f"figures in BENCHMARKS.md and {RESULTS.name}")


def _when(started: float, load: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "seconds": time.monotonic() - started,
        "load_before": load[0],
        "load_after": os.getloadavg()[0],
        "commit": _commit(),
    }


def _commit() -> str:
    found = subprocess.run(
        ["git", "-C", str(RESULTS.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip()


@contextmanager
def _servers() -> Iterator[tuple[dict[str, Server], AnswerBook]]:
    with (
        tempfile.TemporaryDirectory(prefix="focusbot-bench-") as scratch,
        fake_slack_process() as slack_url,
        answer_receiver() as book,
    ):
        database_url = working_copy(DATA_SIZE, Path(scratch))
        servers = {
            "focusbot": start_server(focusbot_app, slack_url, database_url),
            "bare": start_server(bare_app, slack_url),
        }
        try:
            yield servers, book
        finally:
            for server in servers.values():
                server.stop()


def measure_cpu(requests: int) -> dict[str, Any]:
    """Per command and server: CPU per request one at a time, then load from 64 connections."""
    found: dict[str, Any] = {}
    with _servers() as (servers, book):
        signer = Signer(book.url)
        for seed, kind in enumerate(KINDS, start=1):
            found[kind] = {}
            for name, server in servers.items():
                print(f"  {kind} on {name} …", flush=True)
                bare = name == "bare"
                # Every lane's channel of `/focus add` gets its list before it is measured.
                warm = LANES if kind == "/focus add + done" else WARMUP_LANES
                warmup = [plans(kind, lane, 2, seed, bare) for lane in range(warm)]
                closed_loop(server.port, warmup, book, signer)
                wait_until_idle([server.pid])
                before = cpu_seconds(server.pid)
                lane = [plans(kind, 0, requests, seed, bare)]
                one = closed_loop(server.port, lane, book, signer, BUDGET_SECONDS)
                time.sleep(0.2)  # anything the last command left running
                cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / len(one.outcomes)
                lanes = [plans(kind, lane, 4, seed + 100, bare) for lane in range(LANES)]
                before = cpu_seconds(server.pid)
                many = closed_loop(server.port, lanes, book, signer, BUDGET_SECONDS)
                wait_until_idle([server.pid])
                cpu_many_ms = (cpu_seconds(server.pid) - before) * 1000 / len(many.outcomes)
                found[kind][name] = {
                    "cpu_ms": cpu_ms,
                    "one": one.summary(),
                    "cpu_ms_at_64": cpu_many_ms,
                    "at_64": many.summary(),
                }
    return found


def measure_burst() -> dict[str, Any]:
    """Send 150 mixed commands at once to each server (after a warm-up); time acks and answers."""
    found: dict[str, Any] = {}
    with _servers() as (servers, book):
        signer = Signer(book.url)
        for name, server in servers.items():
            bare = name == "bare"
            for seed, kind in enumerate(KINDS, start=1):
                lanes = BURST_LANES if kind == "/focus add + done" else range(4)
                closed_loop(
                    server.port, [plans(kind, n, 2, seed, bare) for n in lanes], book, signer
                )
            wait_until_idle([server.pid])
            mixed = [
                plans(kind, lane, 1, 500 + seed, bare)[0]
                for lane in BURST_LANES
                for seed, kind in enumerate(KINDS)
            ]
            before = cpu_seconds(server.pid)
            load = burst(server.port, mixed, book, signer)
            found[name] = load.summary() | {
                "answered": len(load.answered),
                "cpu_ms": (cpu_seconds(server.pid) - before) * 1000 / len(mixed),
            }
    return found


if __name__ == "__main__":
    main()
