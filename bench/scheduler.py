"""The scheduler under a Monday-morning crowd: posts/s, SQL statements per post, lag, exactly once.

`python -m bench.scheduler [--database-url URL] [--workspaces 500] [--channels 20]` fills a
throw-away PostgreSQL database (created next to the one named) with a focus list, a digest
schedule and a pain theme in each channel, then puts two posts per channel in the outbox, all due
at the same moment, and lets 1, 2 and 4 scheduler processes deliver them to the fake Slack Web
API (in a process of its own). Two crowds: "simple" (a focus check-in and a pain point DM per
channel) and "mix" (a focus check-in and the weekly digest, which reads every feature's data).
Before that, one process delivers 1,000 posts of each kind alone, counting SQL statements.
"""

import argparse
import multiprocessing
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Table, create_engine, event, insert, text
from sqlalchemy.engine import Engine, make_url

from bench.data import focus_list_row
from bench.processes import bench_settings
from storage.db import make_engine
from storage.digest import DigestSchedule
from storage.focus import FocusItem, FocusList
from storage.pain import PainTheme
from storage.schedule import ScheduledPost
from storage.schema import upgrade

BENCH_DATABASE = "focusbot_bench_scheduler"
OUTBOX_EVENT = "focusbot_outbox"
KINDS = {"checkin": "focus.checkin", "dm": "pain.dm", "digest": "digest.weekly"}
CROWDS = {"simple": ("checkin", "dm"), "mix": ("checkin", "digest")}
START_DELAY = timedelta(seconds=15)  # the workers are up and waiting when the posts fall due
GIVE_UP = 600.0

_SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Run:
    """What the scheduler processes of one run did, and what Slack received."""

    crowd: str
    processes: int
    posts: int
    sent: int
    seconds: float
    cpu_seconds: list[float]
    statements: int
    lags: list[float]
    delivered_once: bool
    load: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--crowds", nargs="+", default=list(CROWDS), choices=list(CROWDS))
    parser.add_argument("--kind-posts", type=int, default=1000)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url, fake_slack() as slack:
        engine = make_engine(url)
        upgrade(engine)
        print("statements per post, one process, 1,000 posts of a kind alone:")
        for name, kind in KINDS.items():
            per_post = statements_per_post(engine, url, slack, kind, args.kind_posts)
            print(f"  {name:8} {kind:14} {per_post:5.2f}")
        for crowd in args.crowds:
            for processes in args.processes:
                run = deliver_crowd(
                    engine, url, slack, crowd, processes, args.workspaces, args.channels
                )
                print(describe(run))
        engine.dispose()


def statements_per_post(
    engine: Engine, url: str, slack: "FakeSlackProcess", kind: str, n: int
) -> float:
    """Deliver `n` posts of one kind in one tick of this process; return statements per post."""
    from bot.app.factory import create_focusbot

    workspaces = max(n // 20, 1)
    due = datetime.now(UTC) - timedelta(seconds=1)
    fill(engine, workspaces, n // workspaces, due, (_name_of(kind),))
    focusbot = create_focusbot(bench_settings(slack.url, url))
    counted = count_statements(focusbot.services.engine)
    report = focusbot.scheduler.tick()
    focusbot.services.engine.dispose()
    slack.delivered()
    return counted[0] / max(report.sent, 1)


def deliver_crowd(
    engine: Engine,
    url: str,
    slack: "FakeSlackProcess",
    crowd: str,
    processes: int,
    workspaces: int,
    channels: int,
) -> Run:
    """Put a crowd of posts due at one moment and let `processes` schedulers deliver them."""
    due = datetime.now(UTC) + START_DELAY
    keys = fill(engine, workspaces, channels, due, CROWDS[crowd])
    slack.delivered()  # forget what earlier runs posted
    with _SPAWN.Pool(processes) as pool:
        results = pool.starmap(work, [(url, slack.url, due.timestamp())] * processes)
    load = f"{os.getloadavg()[0]:.1f}"
    delivered = slack.delivered()
    with engine.connect() as connection:
        lags = [
            (row.sent_at - row.due_at).total_seconds()
            for row in connection.execute(
                text("SELECT due_at, sent_at FROM scheduled_post WHERE idempotency_key LIKE 'b:%'")
            )
            if row.sent_at is not None
        ]
    return Run(
        crowd=crowd,
        processes=processes,
        posts=len(keys),
        sent=sum(result["sent"] for result in results),
        seconds=max(result["seconds"] for result in results),
        cpu_seconds=[result["cpu"] for result in results],
        statements=sum(result["statements"] for result in results),
        lags=lags,
        delivered_once=delivered == Counter({(key, 1): 1 for key in keys}),
        load=load,
    )


def work(database_url: str, slack_url: str, start: float) -> dict[str, Any]:
    """Be one scheduler process: wait for the moment, tick until nothing due is left."""
    import logging

    from bot.app.factory import create_focusbot

    logging.basicConfig(level=logging.ERROR)
    focusbot = create_focusbot(bench_settings(slack_url, database_url))
    engine = focusbot.services.engine
    time.sleep(max(start - time.time(), 0))
    began, cpu = time.perf_counter(), time.process_time()
    counted = count_statements(engine)
    sent = statements = 0
    while time.perf_counter() - began < GIVE_UP:
        before = counted[0]
        sent += focusbot.scheduler.tick().sent
        statements += counted[0] - before
        if not _left(engine):
            break
        time.sleep(0.05)
    result = {
        "sent": sent,
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "statements": statements,
    }
    engine.dispose()
    return result


def _left(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM scheduled_post WHERE idempotency_key LIKE 'b:%' "
                    "AND state IN ('pending', 'sending')"
                )
            ).scalar_one()
        )


def count_statements(engine: Engine) -> list[int]:
    """Count the statements sent through the engine from now on (in a one-element list)."""
    counted = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counted[0] += 1

    return counted


def fill(
    engine: Engine, workspaces: int, channels: int, due: datetime, kinds: tuple[str, ...]
) -> list[str]:
    """Empty the tables, give each channel a list, a digest schedule and a theme, put posts due."""
    tables = "scheduled_post, focus_item, focus_list, digest_schedule, pain_theme"
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        places = [
            (f"T{w:04d}", f"C{w:04d}{c:02d}") for w in range(workspaces) for c in range(channels)
        ]
        created = due - timedelta(weeks=4)
        _put(
            connection,
            FocusList,
            (focus_list_row(team, channel, created) for team, channel in places),
        )
        _put(
            connection,
            FocusItem,
            (_focus_item(number + 1, created) for number in range(len(places))),
        )
        _put(
            connection,
            DigestSchedule,
            (_digest(team, channel, created) for team, channel in places),
        )
        _put(connection, PainTheme, (_theme(team, created) for team, _ in places))
        posts = [
            _post(number + 1, team, channel, kind, due)
            for kind in kinds
            for number, (team, channel) in enumerate(places)
        ]
        _put(connection, ScheduledPost, iter(posts))
    return [post["idempotency_key"] for post in posts]


def _put(connection: Any, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    table: Table = model.__table__
    batch = list(rows)
    for start in range(0, len(batch), 5000):
        connection.execute(insert(table), batch[start : start + 5000])


def _focus_item(list_id: int, created: datetime) -> dict[str, Any]:
    return {
        "list_id": list_id,
        "text": f"Ship the thing {list_id}",
        "position": 1,
        "state": "open",
        "added_by": "U0ALICE",
        "added_at": created,
    }


def _digest(team: str, channel: str, created: datetime) -> dict[str, Any]:
    return {
        "team_id": team,
        "enterprise_id": "",
        "channel_id": channel,
        "weekday": 0,
        "minute": 570,
        "timezone": "Europe/Berlin",
        "created_at": created,
    }


def _theme(team: str, created: datetime) -> dict[str, Any]:
    return {"team_id": team, "enterprise_id": "", "name": "Flaky GPUs", "created_at": created}


def _post(number: int, team: str, channel: str, kind: str, due: datetime) -> dict[str, Any]:
    payloads = {
        "checkin": f'{{"list_id": {number}}}',
        "digest": f'{{"schedule_id": {number}}}',
        "dm": f'{{"about": "threshold", "theme_id": {number}, "people": ["U1", "U2", "U3"]}}',
    }
    return {
        "team_id": team,
        "enterprise_id": "",
        "channel_id": f"U{channel[1:]}" if kind == "dm" else channel,
        "kind": KINDS[kind],
        "payload": payloads[kind],
        "due_at": due,
        "next_attempt_at": due,
        "idempotency_key": f"b:{kind}:{number}",
        "state": "pending",
        "attempts": 0,
        "created_at": due,
    }


def _name_of(kind: str) -> str:
    return next(name for name, known in KINDS.items() if known == kind)


def describe(run: Run) -> str:
    """Say what a run did in one line."""
    lags = sorted(run.lags)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
    per_process = [run.sent / run.processes / cpu if cpu else 0.0 for cpu in run.cpu_seconds]
    return (
        f"{run.crowd:6} {run.processes} proc: {run.sent}/{run.posts} sent in {run.seconds:.1f} s "
        f"({run.sent / run.seconds:.0f} posts/s, {run.sent / run.seconds / run.processes:.0f} "
        f"a process; per CPU second of a process {statistics.mean(per_process):.0f}), "
        f"{run.statements / max(run.sent, 1):.2f} statements/post, lag p50 "
        f"{statistics.median(lags) if lags else float('nan'):.1f} s p99 {p99:.1f} s max "
        f"{max(lags, default=float('nan')):.1f} s, exactly once: {run.delivered_once}, "
        f"load {run.load}"
    )


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """Create an empty database beside the one named; drop it afterwards."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
    try:
        yield make_url(url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        admin.dispose()


class FakeSlackProcess:
    """The fake Slack Web API in a process of its own, asked what it was sent."""

    def __init__(self, pipe: Connection, url: str) -> None:
        self.pipe = pipe
        self.url = url

    def delivered(self) -> Counter[tuple[str, int]]:
        """Return how often each outbox key and part was posted since last asked, and forget."""
        self.pipe.send("delivered")
        counted: Counter[tuple[str, int]] = self.pipe.recv()
        return counted


def _run_fake_slack(pipe: Connection) -> None:
    from bot.console.fakeslack import FakeSlack

    fake = FakeSlack().start()
    pipe.send(fake.base_url)
    while pipe.recv() == "delivered":
        with fake._lock:
            messages, fake.messages[:] = list(fake.messages), []
            fake.calls.clear()
        stamps = [(message.get("metadata") or {}) for message in messages]
        pipe.send(
            Counter(
                (stamp["event_payload"]["key"], stamp["event_payload"]["part"])
                for stamp in stamps
                if stamp.get("event_type") == OUTBOX_EVENT
            )
        )
    fake.stop()


@contextmanager
def fake_slack() -> Iterator[FakeSlackProcess]:
    """Run the fake Slack in its own process."""
    parent, child = _SPAWN.Pipe()
    process = _SPAWN.Process(target=_run_fake_slack, args=(child,), daemon=True)
    process.start()
    try:
        yield FakeSlackProcess(parent, parent.recv())
    finally:
        parent.send("stop")
        process.join(timeout=10)


if __name__ == "__main__":
    main()
