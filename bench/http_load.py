"""focusbot over HTTP against a bare Bolt app under the same waitress: latency and throughput."""

import http.client
import itertools
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bench.data import CHANNELS, DETAILS, PEOPLE, PLACES, samples
from bench.processes import BOT_TOKEN, SIGNING_SECRET, bench_settings, start_server
from bot.console.fakeslack import SignedRequest, SlackRequests

EVENTS_PATH = "/slack/events"
COMMANDS = ("/pain <text>", "/focus")


def focusbot_app(slack_api_url: str, database_url: str) -> Any:
    """Return focusbot's WSGI app, as `focusbot start` serves it over HTTP."""
    from bot.app.factory import create_focusbot
    from bot.app.web import wsgi_app

    return wsgi_app(create_focusbot(bench_settings(slack_api_url, database_url)))


def bare_app(slack_api_url: str) -> Any:
    """Return a Bolt app that only acknowledges the same commands: the framework's floor."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
    )

    def acknowledge(ack: Ack) -> None:
        ack()

    for command in ("/pain", "/focus"):
        app.command(command)(acknowledge)
    return SlackRequestHandler(app, path=EVENTS_PATH)


def signed_commands(
    command: str, count: int, response_url: str, seed: int = 1
) -> list[SignedRequest]:
    """Return `count` freshly signed commands, each with its own trigger id (none is a repeat)."""
    rng = random.Random(seed)
    requests = SlackRequests(SIGNING_SECRET)
    texts = [text for _, text in samples()]
    signed = []
    for _ in range(count):
        channel, user = rng.choice(CHANNELS), rng.choice(PEOPLE)
        if command == "/focus":
            name, text = "/focus", ""
        else:
            name = "/pain"
            text = f"{rng.choice(texts)} on {rng.choice(PLACES)} {rng.choice(DETAILS)}"
        signed.append(
            requests.command(
                name, text, user_id=user, channel_id=channel, response_url=response_url
            )
        )
    return signed


@dataclass(frozen=True)
class LoadResult:
    """What a server answered under one load: latencies (seconds), wall time and failures."""

    latencies: list[float]
    wall: float
    failures: int

    @property
    def p50_ms(self) -> float:
        """Return the median latency in ms."""
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        """Return the 99th percentile latency in ms."""
        return percentile(self.latencies, 99) * 1000

    @property
    def throughput(self) -> float:
        """Return the requests answered per second."""
        return len(self.latencies) / self.wall


def percentile(values: Iterable[float], percent: float) -> float:
    """Return a percentile by nearest rank."""
    ordered = sorted(values)
    rank = max(1, round(percent / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def fire(port: int, requests: list[SignedRequest], concurrency: int, answered: str) -> LoadResult:
    """Send the requests from `concurrency` keep-alive connections; time each one."""
    order = itertools.count()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (index := next(order)) < len(requests):
            request = requests[index]
            started = time.perf_counter()
            connection.request("POST", EVENTS_PATH, request.body.encode(), request.headers)
            response = connection.getresponse()
            body = response.read().decode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200 or answered not in body:
                    failures[0] += 1
        connection.close()

    return LoadResult(latencies, run_together(worker, concurrency), failures[0])


def run_together(worker: Callable[[], None], concurrency: int) -> float:
    """Run `concurrency` copies of a worker on threads of their own; return the wall seconds."""
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


EXPECTED = {"/pain <text>": "Logged pain point", "/focus": "Focus"}


def measure(
    slack_api_url: str, database_url: str, levels: dict[int, int], warmup: int = 30
) -> dict[str, Any]:
    """Fire the same commands at focusbot and at a bare Bolt app, one level after another."""
    response_url = slack_api_url.replace("/api/", "/response/bench")
    servers = {
        "focusbot": start_server(focusbot_app, slack_api_url, database_url),
        "bare": start_server(bare_app, slack_api_url),
    }
    rows = []
    seed = itertools.count(1)
    try:
        for command in COMMANDS:
            for name, server in servers.items():
                answered = EXPECTED[command] if name == "focusbot" else ""
                fire(server.port, signed_commands(command, warmup, response_url, next(seed)), 4, "")
                for concurrency, count in levels.items():
                    requests = signed_commands(command, count, response_url, next(seed))
                    result = fire(server.port, requests, concurrency, answered)
                    rows.append(
                        {
                            "command": command,
                            "server": name,
                            "concurrency": concurrency,
                            "requests": count,
                            "p50_ms": result.p50_ms,
                            "p99_ms": result.p99_ms,
                            "throughput": result.throughput,
                            "failures": result.failures,
                        }
                    )
    finally:
        memory = {name: server.stop() for name, server in servers.items()}
    return {"rows": rows, "peak_memory_mb": memory}
