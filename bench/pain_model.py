"""/pain with a sentence-embedding model: latency over HTTP, memory (`python -m bench.pain_model`).

Needs PAIN_MODEL_PATH. Fills a workspace with pain points (each embedded and stored, as /pain
does), then sends signed `/pain log` commands one at a time (concurrency 1) and reports p50 and
p99 of the answers, the CPU time the process spent per command (server, fake Slack and client
together, so an upper bound for the bot's own), the machine's load while measuring, and the
process's resident memory before the model is loaded and after.
"""

import argparse
import csv
import logging
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.pain_quality import serving
from bench.processes import peak_memory_mb
from bot.pain import log_pain
from bot.pain.matching import Blend
from bot.runtime.settings import Settings
from storage.base import Workspace
from storage.db import session_scope

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
TEAM = "T0BENCH"


def resident_mb() -> float:
    """Return this process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_memory_mb()


def complaints() -> list[str]:
    """Return real-sounding complaints to log: every labelled text focusbot ships for tests."""
    texts = []
    for name in ("pain_points.csv", "issue_titles.csv", "banking77_heldout.csv"):
        with (DATA / name).open(newline="") as file:
            texts += [row["text"] for row in csv.DictReader(file)]
    return texts


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=2000, help="pain points already logged")
    parser.add_argument("--requests", type=int, default=300, help="/pain commands timed")
    arguments = parser.parse_args()
    model = Settings().pain_model_path
    if model is None:
        raise SystemExit("Set PAIN_MODEL_PATH to a model folder (model.onnx, tokenizer.json).")
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    texts = complaints()
    rng = random.Random(7)
    before = resident_mb()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            slack_bot_token="xoxb-bench",
            slack_signing_secret="eval-signing-secret",
            database_url=f"sqlite:///{folder}/model.db",
            log_level="WARNING",
            pain_model_path=model,
        )
        with serving(settings, Blend.BOTH) as (client, focusbot):
            matcher = focusbot.services.pain_matcher
            now = datetime.now(UTC)
            with session_scope(focusbot.services.engine) as session:
                for number in range(arguments.points):
                    text = f"{rng.choice(texts)} ({number})"
                    log_pain(session, Workspace(TEAM), "U0", "C0", text, now, matcher=matcher)
            loaded = resident_mb()
            client.log(TEAM, "U1", "warm up the index")
            client.latencies.clear()
            cpu_started = time.process_time()
            for number in range(arguments.requests):
                client.log(TEAM, f"U{number % 9}", rng.choice(texts))
            cpu_per_request = (time.process_time() - cpu_started) / arguments.requests
            load = os.getloadavg()[0]
            latencies = sorted(client.latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    print(f"model: {model}")
    print(
        f"/pain over HTTP, {arguments.points} pain points, concurrency 1, {len(latencies)} requests"
    )
    print(f"  p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"  CPU time per command {cpu_per_request * 1000:.1f} ms; load average {load:.1f}")
    print(
        f"resident memory: {before:.0f} MB before the model, {loaded:.0f} MB with it and the index"
    )
    print(f"peak resident memory: {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
