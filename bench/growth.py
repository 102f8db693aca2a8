"""How focusbot's work grows with the data: `/pain <text>`, `/pain top`, the digest, a tick."""

import logging
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from slack_bolt.request import BoltRequest

from bench.data import DETAILS, DIGEST_CHANNEL, NOW, PEOPLE, PLACES, TEAM, add_due_posts, samples
from bench.http_load import percentile
from bench.processes import SIGNING_SECRET, bench_settings, peak_memory_mb
from bot.app.factory import create_focusbot  # before the other modules, as focusbot loads them
from bot.common.digest import build_digest, window_ending
from bot.console.fakeslack import SlackRequests
from handlers import digest as digest_view
from storage.base import Workspace

DUE_POSTS = 10_000


def measure(
    slack_api_url: str, database_url: str, pain_requests: int, top_requests: int, digests: int
) -> dict[str, Any]:
    """Time focusbot's work on one dataset; run in a process of its own (its memory is counted)."""
    logging.basicConfig(level=logging.ERROR)
    moment = [NOW]  # the data's present; moved on before the scheduler tick
    # Listeners run before the answer, so a dispatch times the command's whole work, without
    # Bolt's 10 ms polling for the acknowledgement.
    focusbot = create_focusbot(
        bench_settings(slack_api_url, database_url),
        clock=lambda: moment[0],
        process_before_response=True,
    )
    requests = SlackRequests(SIGNING_SECRET)
    response_url = slack_api_url.replace("/api/", "/response/bench")
    rng = random.Random(3)
    texts = [text for _, text in samples()]

    def command(name: str, text: str, expected: str) -> float:
        signed = requests.command(
            name,
            text,
            user_id=rng.choice(PEOPLE),
            channel_id=DIGEST_CHANNEL,
            response_url=response_url,
        )
        headers: dict[str, str | Sequence[str]] = dict(signed.headers)
        started = time.perf_counter()
        response = focusbot.app.dispatch(BoltRequest(body=signed.body, headers=headers))
        elapsed = time.perf_counter() - started
        if response.status != 200 or expected not in response.body:
            raise RuntimeError(f"{name} {text!r} answered {response.status}: {response.body[:300]}")
        return elapsed

    def complaint() -> str:
        return f"{rng.choice(texts)} on {rng.choice(PLACES)} {rng.choice(DETAILS)}"

    result: dict[str, Any] = {}
    result["first_pain_ms"] = command("/pain", complaint(), "Logged pain point") * 1000
    pain = [command("/pain", complaint(), "Logged pain point") for _ in range(pain_requests)]
    result["pain"] = _summary(pain)
    top = [command("/pain", "top", "") for _ in range(top_requests)]
    result["top"] = _summary(top)

    window = window_ending(Workspace(TEAM), DIGEST_CHANNEL, NOW, "Europe/Berlin")
    builders = focusbot.services.digest_sections
    sections: dict[str, list[float]] = {_name(builder): [] for builder in builders}
    whole: list[float] = []
    for _ in range(digests):
        with focusbot.services.session() as session:
            started = time.perf_counter()
            built = build_digest(session, window, builders)
            digest_view.summary(built)
            digest_view.digest_blocks(built, window)
            whole.append(time.perf_counter() - started)
        with focusbot.services.session() as session:
            for builder in builders:
                sections[_name(builder)].append(_timed(partial(builder, session, window)))
    result["digest"] = _summary(whole)
    result["digest_lines"] = sum(len(section.lines) for section in built)
    result["digest_sections_ms"] = {
        name: statistics.median(times) * 1000 for name, times in sections.items()
    }

    add_due_posts(focusbot.services.engine, DUE_POSTS, NOW + timedelta(minutes=1))
    moment[0] = NOW + timedelta(minutes=2)
    started = time.perf_counter()
    report = focusbot.scheduler.tick()
    result["tick_s"] = time.perf_counter() - started
    result["tick_sent"] = report.sent
    result["tick_failed"] = report.failed + report.retried
    result["peak_memory_mb"] = peak_memory_mb()
    focusbot.services.engine.dispose()
    return result


def _name(builder: Callable[..., object]) -> str:
    return f"{builder.__module__}.{builder.__qualname__}"


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _summary(seconds: list[float]) -> dict[str, float]:
    return {
        "count": len(seconds),
        "p50_ms": statistics.median(seconds) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000,
    }
