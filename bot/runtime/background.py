"""Slow work off the scheduler's tick: a few worker threads, one job per key at a time."""

import logging
import queue
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 4
IDLE_SECONDS = 30.0


class Background:
    """Run jobs that wait on the network (reading calendar feeds) beside the tick, never in it.

    A job runs with no database session open; it opens a short one of its own when it has
    something to store. A key already queued or running is not queued again.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self._jobs: queue.SimpleQueue[tuple[Hashable, Callable[[], None]]] = queue.SimpleQueue()
        self._busy: set[Hashable] = set()
        self._changed = threading.Condition()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._idle_workers = 0

    def submit(self, key: Hashable, job: Callable[[], None]) -> bool:
        """Queue a job; False if a job with this key is queued or running already."""
        with self._changed:
            if key in self._busy:
                return False
            self._busy.add(key)
            self._jobs.put((key, job))
            if self._jobs.qsize() > self._idle_workers and len(self._threads) < self._workers:
                worker = threading.Thread(
                    target=self._work, name="focusbot-background", daemon=True
                )
                self._threads.append(worker)
                worker.start()
        return True

    def busy(self, key: Hashable) -> bool:
        """Tell whether a job with this key is queued or running."""
        with self._changed:
            return key in self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running; False if the timeout came first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._busy, timeout)

    def _work(self) -> None:
        while (taken := self._next_job()) is not None:
            key, job = taken
            try:
                job()
            except Exception:  # a failed job must never stop the worker
                log.exception("background job %s failed", key)
            finally:
                with self._changed:
                    self._busy.discard(key)
                    self._changed.notify_all()

    def _next_job(self) -> tuple[Hashable, Callable[[], None]] | None:
        """Take the next job; None once the worker has been idle a while (it then ends)."""
        with self._changed:
            self._idle_workers += 1
        while True:
            try:
                taken = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._changed:
                    if self._jobs.empty():
                        self._idle_workers -= 1
                        self._threads.remove(threading.current_thread())
                        return None
                continue
            with self._changed:
                self._idle_workers -= 1
            return taken
