"""focusbot at its edges: hostile bodies and a burst of commands, timed (`python -m bench.edges`).

Prints how long redaction takes on hostile log text, how fast a focusbot process refuses
hostile unsigned bodies while answering /healthz, and the latency of 200 `/focus add` sent
at once (the load test checks that each is answered; this measures how fast).
"""

import argparse
import http.client
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.http_load import focusbot_app
from bench.processes import SIGNING_SECRET, fake_slack_process, start_server
from bot.console.fakeslack import SignedRequest, SlackRequests
from bot.runtime.logs import configure_logging, redact
from storage.db import make_engine
from storage.schema import upgrade

BURST = 200


def hostile_texts(size: int) -> dict[str, str]:
    """Return the log texts that took quadratic time before redaction was rewritten."""
    return {
        "http://aaa…": "http://" + "a" * size,
        "http://h…ic": "http://h" + "a" * size + ".ic",
    }


def logged_focusbot_app(slack_api_url: str, database_url: str) -> Any:
    """Return focusbot's WSGI app logging as `focusbot run` does: redacted, at info level."""
    configure_logging("info", False, stream=open(os.devnull, "w"))  # noqa: SIM115
    return focusbot_app(slack_api_url, database_url)


def measure_redaction(sizes: list[int]) -> None:
    """Print how long redacting each hostile text takes."""
    for size in sizes:
        for name, text in hostile_texts(size).items():
            started = time.perf_counter()
            redact(text)
            print(f"redact {name} {size:>9,} chars: {time.perf_counter() - started:8.4f} s")


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    """Send one request; return its status and how long the answer took."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    started = time.perf_counter()
    connection.request("POST" if body else "GET", path, body=body or None, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status, time.perf_counter() - started


def measure_refusals(url: str, sizes: list[int]) -> None:
    """Print how fast hostile unsigned bodies are refused, and /healthz meanwhile."""
    plain = {"Content-Type": "text/plain"}
    for size in sizes:
        body = b"http://" + b"a" * size
        with ThreadPoolExecutor(max_workers=1) as pool:
            refusal = pool.submit(post, url, "/slack/events", body, plain)
            time.sleep(0.01)  # the hostile body is on its way
            health_status, health_seconds = post(url, "/healthz", b"", {})
            status, seconds = refusal.result()
        print(
            f"unsigned {size:>9,} bytes: {status} in {seconds:.4f} s; "
            f"/healthz meanwhile {health_status} in {health_seconds:.4f} s"
        )


def measure_burst(url: str) -> None:
    """Print the latency of BURST signed `/focus add` sent at once to one process."""
    requests = SlackRequests(SIGNING_SECRET, team_id="T0BENCH")
    signed = [
        requests.command(
            "/focus",
            f"add Burst item {index}",
            user_id=f"U{index % 3}BENCH",
            channel_id=f"C{index:04d}BURST",
            response_url="http://127.0.0.1:9/",
        )
        for index in range(BURST)
    ]
    send: Callable[[SignedRequest], tuple[int, float]] = lambda request: post(  # noqa: E731
        url, "/slack/events", request.body.encode(), request.headers
    )
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        results = list(pool.map(send, signed))
    latencies = sorted(seconds for _, seconds in results)
    answered = sum(status == 200 for status, _ in results)
    print(
        f"{BURST} /focus add at once: {answered} answered; p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, p99 "
        f"{latencies[int(BURST * 0.99) - 1] * 1000:.0f} ms, max {latencies[-1]:.2f} s"
    )


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="20000,40000,1000000", help="hostile body sizes")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    measure_redaction(sizes)
    with (
        tempfile.TemporaryDirectory(prefix="focusbot-edges-") as scratch,
        fake_slack_process() as slack_url,
    ):
        database_url = f"sqlite:///{Path(scratch) / 'focusbot.db'}"
        upgrade(make_engine(database_url))
        server = start_server(logged_focusbot_app, slack_url, database_url)
        try:
            url = f"http://127.0.0.1:{server.port}"
            measure_refusals(url, sizes)
            measure_burst(url)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
