"""CPU time and SQL statements of one command at a data size, and where the time goes.

python -m bench.statements 100000 "/pain top" [--requests 30] [--profile 25]
python -m bench.statements 10000 "/milestone" --postgres-url postgresql://127.0.0.1:5432/test
"""

import argparse
import cProfile
import logging
import pstats
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slack_bolt.request import BoltRequest
from sqlalchemy import event

from bench.data import DETAILS, DIGEST_CHANNEL, NOW, PEOPLE, PLACES, samples, working_copy
from bench.processes import SIGNING_SECRET, bench_settings, fake_slack_process
from bot.app.factory import create_focusbot  # before the other modules, as focusbot loads them
from bot.console.fakeslack import SlackRequests


@contextmanager
def counted_statements(engine: Any) -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs while inside."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def measure(
    slack_api_url: str, database_url: str, name: str, text: str, requests: int, profile: int
) -> dict[str, Any]:
    """Dispatch a command `requests` times after a warm-up; return CPU ms and statements each."""
    logging.basicConfig(level=logging.ERROR)
    focusbot = create_focusbot(
        bench_settings(slack_api_url, database_url),
        clock=lambda: NOW,
        process_before_response=True,
    )
    signer = SlackRequests(SIGNING_SECRET)
    rng = random.Random(5)
    texts = [sample for _, sample in samples()]

    def dispatch() -> tuple[float, float, int]:
        words = text or f"{rng.choice(texts)} on {rng.choice(PLACES)} {rng.choice(DETAILS)}"
        signed = signer.command(
            name,
            words,
            user_id=rng.choice(PEOPLE),
            channel_id=DIGEST_CHANNEL,
            response_url=slack_api_url.replace("/api/", "/response/bench"),
        )
        headers: dict[str, str | Sequence[str]] = dict(signed.headers)
        with counted_statements(focusbot.services.engine) as seen:
            cpu, wall = time.process_time(), time.perf_counter()
            response = focusbot.app.dispatch(BoltRequest(body=signed.body, headers=headers))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if response.status != 200:
            raise RuntimeError(f"{name} {words!r} answered {response.status}: {response.body}")
        return cpu, wall, len(seen)

    first = dispatch()
    runs = [dispatch() for _ in range(requests)]
    result = {
        "first_cpu_ms": first[0] * 1000,
        "first_wall_ms": first[1] * 1000,
        "cpu_ms": statistics.median(run[0] for run in runs) * 1000,
        "wall_ms": statistics.median(run[1] for run in runs) * 1000,
        "statements": statistics.median(run[2] for run in runs),
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            dispatch()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    focusbot.services.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("size", type=int, help="pain points in the dataset (1000, 10000, 100000)")
    parser.add_argument("command", help='"/pain top", "/milestone", "/pain" (a random complaint)')
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="print this many profile lines")
    parser.add_argument("--postgres-url", default="", help="load the data into PostgreSQL")
    args = parser.parse_args()
    name, _, text = args.command.partition(" ")
    with tempfile.TemporaryDirectory(prefix="focusbot-statements-") as scratch:
        database_url = working_copy(args.size, Path(scratch))
        if args.postgres_url:
            from bench.__main__ import _postgres
            from bot.runtime.settings import normalize_database_url

            with (
                _postgres(normalize_database_url(args.postgres_url))(args.size) as url,
                fake_slack_process() as slack,
            ):
                print(measure(slack, url, name, text, args.requests, args.profile))
            return
        with fake_slack_process() as slack:
            print(measure(slack, database_url, name, text, args.requests, args.profile))


if __name__ == "__main__":
    main()
