"""Run focusbot's benchmarks and write BENCHMARKS.md: `python -m bench [--postgres-url URL]`."""

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import growth, http_load, report
from bench.data import CACHE, postgres_copy, working_copy
from bench.processes import fake_slack_process, run_in_process
from bot.runtime.settings import normalize_database_url

SIZES = (1_000, 10_000, 100_000)
HTTP_DATA_SIZE = 100_000


def main() -> None:
    """Measure, then write BENCHMARKS.md and the plot."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default="", help="also measure the data on PostgreSQL")
    parser.add_argument("--requests", type=int, default=200, help="requests per load level")
    parser.add_argument("--pain-requests", type=int, default=200, help="/pain <text> per size")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    started = time.perf_counter()
    levels = {1: args.requests // 2, 16: args.requests, 64: args.requests}
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="minutes")}
    with (
        tempfile.TemporaryDirectory(prefix="focusbot-bench-") as scratch,
        fake_slack_process() as url,
    ):
        where = Path(scratch)
        print(f"HTTP: focusbot ({HTTP_DATA_SIZE:,} pain points) and a bare Bolt app …", flush=True)
        results["http"] = http_load.measure(url, working_copy(HTTP_DATA_SIZE, where), levels)
        results["http"]["data_size"] = HTTP_DATA_SIZE
        results["growth"] = {}
        for backend, database_urls in _backends(args.postgres_url, where):
            results["growth"][backend] = {}
            for size in SIZES:
                print(f"data: {size:,} pain points on {backend} …", flush=True)
                with database_urls(size) as database_url:
                    results["growth"][backend][size] = run_in_process(
                        growth.measure, url, database_url, args.pain_requests, 50, 10
                    )
    results["seconds"] = time.perf_counter() - started
    (CACHE / "results.json").write_text(json.dumps(results, indent=1))
    report.write(results)
    print(f"done in {results['seconds']:.0f} s: BENCHMARKS.md, {report.PLOT.name}")


def _backends(postgres_url: str, where: Path) -> Iterator[tuple[str, Any]]:
    @contextmanager
    def sqlite(size: int) -> Iterator[str]:
        yield working_copy(size, where)

    yield "SQLite", sqlite
    if postgres_url:
        yield "PostgreSQL", partial(postgres_copy, normalize_database_url(postgres_url))


if __name__ == "__main__":
    main()
