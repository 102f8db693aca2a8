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
    """Return how many commands work at once: half the request threads, so the others stay free
    to acknowledge at once while the work is busy."""
    return max(2, settings.web_threads // 2)


class CommandPool:
    """Run commands' work on a few threads; tell whether a piece of work could start at once.

    With no budget, every answer waits for its work and goes in the acknowledgement.
    """

    def __init__(self, workers: int, budget_seconds: float | None = ANSWER_BUDGET_SECONDS) -> None:
        self.budget_seconds = budget_seconds
        self._workers = workers
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="focusbot-command")
        self._running = 0
        self._changed = threading.Condition()

    def submit(self, work: Callable[[], None]) -> tuple["Future[None]", bool]:
        """Queue the work; return its future and whether a thread was free for it."""
        with self._changed:
            free = self._running < self._workers
            self._running += 1
        future = self._executor.submit(work)
        future.add_done_callback(self._finished)
        return future, free

    def time_left(self, arrived: float, started_at_once: bool) -> float | None:
        """Return how long the work may take to answer in the acknowledgement (None: no limit)."""
        if self.budget_seconds is None:
            return None
        if not started_at_once:
            return 0.0
        return max(arrived + self.budget_seconds - time.perf_counter(), 0.0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no work is queued or running; False if the timeout came first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)

    def _finished(self, _future: "Future[None]") -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()
