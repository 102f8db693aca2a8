"""Answers per second against the number of worker processes: `python -m bench.workers URL`.

A shorter run of `python -m bench.commands --part workers` (bench/worker_scaling.py) with the
workers, commands, data size and load chosen on the command line; it prints one line per command
and number of workers, with the load average beside it, and changes no file.
"""

import argparse
import logging
import os
from typing import Any

from bench import worker_scaling


def main() -> None:
    """Measure and print answers/s, failures and CPU per answer against the number of workers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("postgres_url", help="a PostgreSQL server that lets us CREATE SCHEMA")
    parser.add_argument("--workers", default="1,2", help="numbers of workers, comma-separated")
    parser.add_argument("--kinds", default="/focus", help="commands, comma-separated")
    parser.add_argument("--per-connection", type=int, default=20, help="commands per connection")
    parser.add_argument("--size", type=int, default=10_000, help="pain points in the data")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    found = worker_scaling.measure(
        args.postgres_url,
        args.size,
        tuple(int(count) for count in args.workers.split(",")),
        tuple(args.kinds.split(",")),
        args.per_connection,
    )
    one = found["workers"][args.workers.split(",")[0]]
    for workers, kinds in found["workers"].items():
        for kind, row in kinds.items():
            print(_line(workers, kind, row, one[kind]["throughput"]))
    print(f"worker processes left running after their parent stopped: {found['left_running']}")


def _line(workers: str, kind: str, row: dict[str, Any], first: float) -> str:
    ratio = row["throughput"] / first if first else float("nan")
    return (
        f"{kind:<14} workers={workers} {row['throughput']:6.1f} answers/s ({ratio:.2f}×) "
        f"answer p99 {row['answer_p99_ms']:5.0f} ms, ack p99 {row['ack_p99_ms']:5.0f} ms | "
        f"{row['lazy']} of {row['requests']} via response_url, {row['failures']} failed | CPU ms "
        f"per answer {row['cpu_ms']:.1f} focusbot, {row['cpu_ms_all']:.1f} all, "
        f"{row['cpu_ms_load_generator']:.2f} load generator | "
        f"load {row['load_average']:.1f}"
    )


if __name__ == "__main__":
    main()
