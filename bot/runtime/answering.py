"""Threads of their own for slash commands' work, so a slow answer never holds up Slack's ack."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from bot.runtime.settings import Settings

# Slack gives up on an acknowledgement after 3 s; what is not ready this long after the request
# arrived is acknowledged empty and answered through the command's response_url.
ANSWER_BUDGET_SECONDS = 2.0


def command_threads(settings: Settings) -> int:
    """Return how many commands work at once: half the request threads; more would only take
    turns for the same cores and database connections."""
    return max(2, settings.web_threads // 2)


class CommandPool:
    """Run commands' work on a few threads; tell how long a request may wait for its answer.

    With no budget, every answer waits for its work and goes in the acknowledgement.
    """

    def __init__(self, workers: int, budget_seconds: float | None = ANSWER_BUDGET_SECONDS) -> None:
        self.budget_seconds = budget_seconds
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="focusbot-command")
        self._running = 0
        self._changed = threading.Condition()

    def submit(self, work: Callable[[], None]) -> "Future[None]":
        """Queue the work; it starts once one of the threads is free."""
        with self._changed:
            self._running += 1
        future = self._executor.submit(work)
        future.add_done_callback(self._finished)
        return future

    def time_left(self, arrived: float) -> float | None:
        """Return how long the work may take to answer in the acknowledgement (None: no limit).

        Counted from the request's arrival, whether its work started at once or waits for a
        thread: a waiting command usually still answers in time, and answering it late would
        cost a second request (the empty acknowledgement, then the post to response_url).
        """
        if self.budget_seconds is None:
            return None
        return max(arrived + self.budget_seconds - time.perf_counter(), 0.0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no work is queued or running; False if the timeout came first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)

    def _finished(self, _future: "Future[None]") -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()
