"""The work one command costs inside focusbot: CPU, SQL statements and transactions per command.

`python -m bench.profile_command [--commands N] [--data-size N] [--database-url URL] [--profile]`

Each command is a freshly signed slash command (its own trigger id), handed to focusbot's WSGI app
in this process, as waitress would, with listeners run before the answer (no thread hand-off to
blur the figures). A bare Bolt app that only acknowledges gets the same requests, for the floor.
"""

import argparse
import cProfile
import io
import itertools
import logging
import pstats
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.command_mix import plans
from bench.data import CHANNELS, PEOPLE, TEAM, working_copy
from bench.processes import BOT_TOKEN, SIGNING_SECRET, bench_settings
from bot.console.fakeslack import running_fake_slack
from bot.console.signedrequests import SignedRequest, SlackRequests

EVENTS_PATH = "/slack/events"
PAIN_TEXT = "<text>"  # stands for a fresh complaint in each request
ADD_CHANNEL = "C0PROFILE"  # a list of its own with room, so that adding never meets the cap
# name: the commands one measured unit sends (text of /focus or /maker), and what they must answer.
COMMANDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "/focus list": (("/focus", "", "Focus"),),
    "/focus add + done": (
        ("/focus", "add profile the hot path", "Added"),
        ("/focus", "done 2", "Finished"),
    ),
    "/maker check": (("/maker", "check tue 10:30 45m 4", "maker"),),
    # Each request logs another complaint (bench.command_mix's), matched against the whole index.
    "/pain <text>": (("/pain", PAIN_TEXT, "Logged pain point"),),
    "/milestone list": (("/milestone", "", "Launch "),),
    "/pain top": (("/pain", "top", "Top pain themes"),),
}


_SEEDS = itertools.count(1)


@dataclass
class Work:
    """What one request cost on average."""

    cpu_ms: float
    statements: float
    transactions: float


class SqlCounter:
    """Count the statements an engine runs and the transactions it begins."""

    def __init__(self, engine: Engine) -> None:
        self.statements = 0
        self.transactions = 0
        self.seen: list[str] = []  # every statement's SQL, when asked for
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        self.seen.append(" ".join(statement.split())[:160])

    def _begin(self, *_args: Any) -> None:
        self.transactions += 1


def wsgi_call(app: Any, request: SignedRequest) -> tuple[str, bytes]:
    """Hand a signed request to a WSGI app as waitress would; return its status and body."""
    body = request.body.encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": EVENTS_PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": request.headers["Content-Type"],
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **{
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.headers.items()
            if name != "Content-Type"
        },
    }
    status: list[str] = []
    chunks = app(environ, lambda line, _headers, *_: status.append(line))
    return status[0], b"".join(chunks)


def requests_for(name: str, count: int, response_url: str) -> list[list[SignedRequest]]:
    """Return `count` units of a command, each request freshly signed with its own trigger id."""
    signer = SlackRequests(SIGNING_SECRET, team_id=TEAM)
    channel = ADD_CHANNEL if name == "/focus add + done" else CHANNELS[1]
    complaints = iter(plans("/pain <text>", 0, count, next(_SEEDS)))
    return [
        [
            signer.command(
                command,
                next(complaints).text if text == PAIN_TEXT else text,
                user_id=PEOPLE[0],
                channel_id=channel,
                response_url=response_url,
            )
            for command, text, _ in COMMANDS[name]
        ]
        for _ in range(count)
    ]


def measure(
    app: Any,
    units: list[list[SignedRequest]],
    expected: Iterable[str],
    counter: SqlCounter | None,
    profiler: cProfile.Profile | None = None,
) -> Work:
    """Send every unit; return the average CPU, statements and transactions of one request."""
    expected = tuple(expected)
    statements = counter.statements if counter else 0
    transactions = counter.transactions if counter else 0
    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    for unit in units:
        for request, answer in zip(unit, expected, strict=True):
            status, body = wsgi_call(app, request)
            if not status.startswith("200") or answer.encode() not in body:
                raise AssertionError(f"unexpected answer {status}: {body[:300]!r}")
    cpu = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    count = sum(len(unit) for unit in units)
    return Work(
        cpu_ms=cpu * 1000 / count,
        statements=((counter.statements - statements) / count) if counter else 0,
        transactions=((counter.transactions - transactions) / count) if counter else 0,
    )


def focusbot_app(slack_api_url: str, database_url: str) -> tuple[Any, Engine]:
    """Return focusbot's WSGI app (listeners answer before the response) and its engine."""
    from bot.app.factory import create_focusbot
    from bot.app.web import wsgi_app

    bot = create_focusbot(bench_settings(slack_api_url, database_url), process_before_response=True)
    return wsgi_app(bot), bot.services.engine


def bare_app(slack_api_url: str) -> Any:
    """Return a Bolt app that only acknowledges the same commands."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )

    def acknowledge(ack: Ack) -> None:
        # what focusbot's answers hold
        ack(text="Focus Added Finished maker Logged pain point Launch Top pain themes")

    for command in ("/focus", "/maker", "/milestone", "/pain"):
        app.command(command)(acknowledge)
    return SlackRequestHandler(app, path=EVENTS_PATH)


def run(
    commands: int,
    repeats: int,
    database_url: str,
    profile: bool,
    only: str,
    top: int,
    show_statements: bool,
    warmup: int = 30,
) -> None:
    """Measure each command on focusbot and the bare app (best of the repeats); print a table."""
    names = [name for name in COMMANDS if only in name]
    with running_fake_slack() as fake:
        app, engine = focusbot_app(fake.base_url, database_url)
        counter = SqlCounter(engine)
        bare = bare_app(fake.base_url)
        response_url = fake.response_url()
        rows = []
        profiles: dict[str, str] = {}
        signer = SlackRequests(SIGNING_SECRET, team_id=TEAM)
        seed = signer.command(
            "/focus",
            "add keep me",
            user_id=PEOPLE[0],
            channel_id=ADD_CHANNEL,
            response_url=response_url,
        )
        wsgi_call(app, seed)  # item 1 of the list that "/focus add + done" adds 2 to
        for name in names:
            expected = [answer for _, _, answer in COMMANDS[name]]
            measure(app, requests_for(name, warmup, response_url), expected, None)
            measure(bare, requests_for(name, warmup, response_url), expected, None)
            bare_work = min(
                (
                    measure(bare, requests_for(name, commands, response_url), expected, None)
                    for _ in range(repeats)
                ),
                key=lambda work: work.cpu_ms,
            )
            work = min(
                (
                    measure(app, requests_for(name, commands, response_url), expected, counter)
                    for _ in range(repeats)
                ),
                key=lambda work: work.cpu_ms,
            )
            profiler = cProfile.Profile()
            measure(app, requests_for(name, 50, response_url), expected, None, profiler)
            calls = pstats.Stats(profiler).total_calls / (50 * len(COMMANDS[name]))  # type: ignore[attr-defined]
            rows.append((name, work, bare_work, calls))
            if show_statements:
                counter.seen.clear()
                measure(app, requests_for(name, 1, response_url), expected, counter)
                profiles[name + ", its statements"] = "\n".join(counter.seen)
            if profile:
                profiles[name] = _top(profiler, top)
    print(f"best of {repeats} × {commands} commands each, {database_url.split('://')[0]}")
    print(
        "| command | CPU ms / request | bare CPU ms | ratio "
        "| SQL statements / request | transactions / request | Python calls / request |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, work, bare_work, calls in rows:
        print(
            f"| `{name}` | {work.cpu_ms:.2f} | {bare_work.cpu_ms:.2f} "
            f"| {work.cpu_ms / bare_work.cpu_ms:.1f}× | {work.statements:.1f} "
            f"| {work.transactions:.1f} | {calls:,.0f} |"
        )
    for name, text in profiles.items():
        print(f"\n## {name}\n{text}")


def _top(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=300, help="commands measured per kind")
    parser.add_argument("--repeats", type=int, default=3, help="measure this often, keep the best")
    parser.add_argument("--data-size", type=int, default=10_000, help="pain points (SQLite)")
    parser.add_argument("--database-url", default="", help="a prepared database instead")
    parser.add_argument("--only", default="", help="measure only commands containing this")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top list")
    parser.add_argument("--statements", action="store_true", help="print one unit's SQL")
    parser.add_argument("--top", type=int, default=40, help="functions in the top list")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="focusbot-profile-") as scratch:
        url = args.database_url or working_copy(args.data_size, Path(scratch))
        run(args.commands, args.repeats, url, args.profile, args.only, args.top, args.statements)


if __name__ == "__main__":
    main()
