"""Each party of a benchmark in its own process: the fake Slack Web API and the servers measured."""

import multiprocessing
import resource
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.runtime.settings import Settings

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-T0LOCAL"
SERVER_THREADS = 16  # as `focusbot start` serves over HTTP (bot.app.web.serve)

_SPAWN = multiprocessing.get_context("spawn")


def peak_memory_mb() -> float:
    """Return this process's peak resident memory in MB (not its parent's, unlike ru_maxrss)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_settings(slack_api_url: str, database_url: str) -> Settings:
    """Return the settings of a focusbot run for a benchmark (nothing read from the environment)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=slack_api_url,
        database_url=database_url,
        log_level="WARNING",
    )


def _run_fake_slack(pipe: Connection) -> None:
    from bot.console.fakeslack import FakeSlack

    fake = FakeSlack().start()
    pipe.send(fake.base_url)
    pipe.recv()  # until told to stop
    pipe.send(len(fake.calls))
    fake.stop()


@contextmanager
def fake_slack_process() -> Iterator[str]:
    """Run the fake Slack Web API in a process of its own; yield its base URL."""
    parent, child = _SPAWN.Pipe()
    process = _SPAWN.Process(target=_run_fake_slack, args=(child,), daemon=True)
    process.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        parent.recv()
        process.join(timeout=10)


@dataclass
class Server:
    """A server under test: where it listens, and how to stop it and learn its peak memory."""

    port: int
    _pipe: Connection
    _process: Any

    @property
    def pid(self) -> int:
        """Return the server process's id."""
        return int(self._process.pid)

    def stop(self) -> float:
        """Stop the server; return its peak memory in MB."""
        self._pipe.send("stop")
        peak = float(self._pipe.recv())
        self._process.join(timeout=10)
        return peak


def _serve(pipe: Connection, make_app: Callable[..., Any], args: tuple[Any, ...]) -> None:
    import logging

    from waitress.server import create_server

    logging.basicConfig(level=logging.ERROR)
    application = make_app(*args)
    server = create_server(application, host="127.0.0.1", port=0, threads=SERVER_THREADS)
    threading.Thread(target=server.run, daemon=True).start()
    pipe.send(server.effective_port)  # type: ignore[union-attr]
    pipe.recv()
    pipe.send(peak_memory_mb())
    server.close()


def start_server(make_app: Callable[..., Any], *args: Any) -> Server:
    """Start a waitress server in its own process around the WSGI app `make_app(*args)` returns."""
    parent, child = _SPAWN.Pipe()
    process = _SPAWN.Process(target=_serve, args=(child, make_app, args), daemon=True)
    process.start()
    return Server(int(parent.recv()), parent, process)


def run_in_process(function: Callable[..., Any], *args: Any) -> Any:
    """Call `function(*args)` in a fresh process and return what it returns."""
    with _SPAWN.Pool(1) as pool:
        return pool.apply(function, args)
