"""The `focusbot` command line: run, start, console, migrate, doctor, export, manifest, pain."""

import logging
import sys
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console as Terminal
from rich.progress import Progress
from sqlalchemy.engine import Engine, make_url

from bot.app.factory import create_focusbot
from bot.app.web import serve
from bot.console.lines import PipedLines, TerminalLines
from bot.console.repl import FocusbotConsole
from bot.pain import EmbeddingUnavailable, export_pain_points, reindex
from bot.runtime import metrics
from bot.runtime.doctor import check, describe_database, exit_code, render
from bot.runtime.logs import configure_logging
from bot.runtime.manifest import MANIFEST
from bot.runtime.problems import SetupError, explain
from bot.runtime.services import pain_matcher_for
from bot.runtime.settings import Settings
from bot.runtime.socket_mode import SocketModeRefused, SocketModeRunner, wait_for_slack
from handlers import pain as pain_handlers
from storage.db import make_engine
from storage.schema import current_revision, head_revision, is_current, upgrade

SETUP_ERROR_EXIT = 2

cli = typer.Typer(
    name="focusbot",
    help="focusbot runs the rituals of a machine-learning team in Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would show tokens and passwords
)
errors = Terminal(stderr=True, markup=False, highlight=False, soft_wrap=True)
export_cli = typer.Typer(help="Export focusbot's data.", no_args_is_help=True)
cli.add_typer(export_cli, name="export")
pain_cli = typer.Typer(help="Look after pain point matching.", no_args_is_help=True)
cli.add_typer(pain_cli, name="pain")


@dataclass
class Invocation:
    """What the error path needs to know about this run of the command."""

    debug: bool = False
    settings: Settings | None = None
    database_variable: str = "DATABASE_URL"


invocation = Invocation()


class ExportFormat(StrEnum):
    """The formats data can be exported in."""

    csv = "csv"
    json = "json"


def _show_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"focusbot {version('focusbot')}")
        raise typer.Exit()


@cli.callback()
def options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the whole traceback of a setup error.")
    ] = False,
) -> None:
    """focusbot runs the rituals of a machine-learning team in Slack."""
    invocation.debug = debug


@cli.command()
def run(
    http: Annotated[bool, typer.Option("--http", help="Serve Slack's requests over HTTP.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on (HTTP mode).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (HTTP mode).")] = 3000,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Processes serving HTTP (PostgreSQL only for >1).")
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve GET /metrics on this port at --host (Socket Mode)."),
    ] = None,
) -> None:
    """Run focusbot in Socket Mode, or over HTTP with --http (which also serves /metrics)."""
    settings = _settings()
    missing = settings.missing_for_http() if http else settings.missing_for_socket_mode()
    if missing:
        mode = "HTTP mode" if http else "Socket Mode"
        raise SetupError(
            f"focusbot cannot start in {mode}: {_named(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set.\n"
            "Set them in the environment or in a .env file (see README.md), "
            "or try focusbot without Slack: focusbot console"
        )
    if metrics_port is not None and not http:
        metrics.serve_metrics(host, metrics_port)
    _serve(settings, http=http, host=host, port=port, workers=workers)


@cli.command()
def start() -> None:
    """Start focusbot the way its settings allow: Socket Mode, HTTP, or else the console."""
    settings = _settings()
    socket_mode, http = settings.missing_for_socket_mode(), settings.missing_for_http()
    if not socket_mode:
        _serve(settings, http=False, host="127.0.0.1", port=3000)
    elif not http:
        _serve(settings, http=True, host="127.0.0.1", port=3000)
    elif settings.any_slack_credential():
        raise SetupError(
            "Some Slack credentials are set, but not all that either mode needs: Socket Mode "
            f"also needs {_named(socket_mode)}; HTTP mode also needs {_named(http)}.\n"
            "Set them in the environment or in a .env file (see README.md); focusbot doctor "
            "says what each one is."
        )
    else:
        errors.print("No Slack credentials are set, so focusbot starts its local console.")
        _console(settings)


@cli.command()
def console(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="The database the console keeps its data in (see README.md)."
        ),
    ] = None,
) -> None:
    """Try focusbot without Slack: type slash commands, click buttons, watch scheduled posts."""
    settings = _settings()
    if database_url is not None:
        settings = Settings.model_validate(
            {**settings.model_dump(), "console_database_url": database_url}
        )
    _console(settings)


@cli.command()
def manifest() -> None:
    """Print the Slack app manifest to create focusbot's Slack app from."""
    typer.echo(MANIFEST.read_text(encoding="utf-8"), nl=False)


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        typer.echo(f"The database schema is up to date (revision {after}).")
    else:
        typer.echo(f"Upgraded the database schema from {before or 'empty'} to {after}.")


@cli.command()
def doctor() -> None:
    """Check tokens, scopes, database and schema; say what is wrong in plain words."""
    findings = check(_settings())
    typer.echo(render(findings))
    raise typer.Exit(exit_code(findings))


@export_cli.command("pain")
def export_pain(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.csv,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Export every pain point as CSV or as a JSON array."""
    engine = _prepared_engine(_settings())
    if out is None:
        export_pain_points(engine, fmt.value, sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as file, Progress(console=errors) as progress:
        task = progress.add_task(f"Exporting pain points to {out}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        written = export_pain_points(engine, fmt.value, file, advance)
    errors.print(f"Wrote {written} pain points to {out}.")


@pain_cli.command("reindex")
def pain_reindex() -> None:
    """Embed the pain points the configured model has not embedded yet (after turning it on)."""
    settings = Settings()
    engine = _prepared_engine(settings)
    matcher = pain_matcher_for(settings)
    try:
        with Progress(console=errors) as progress:
            task = progress.add_task(f"Embedding pain points ({matcher.describe()})", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            embedded = reindex(engine, matcher, advance)
    except EmbeddingUnavailable as failure:
        errors.print(str(failure))
        raise typer.Exit(1) from failure
    errors.print(f"Embedded {embedded} pain points; every pain point now has a vector.")


def _serve(settings: Settings, *, http: bool, host: str, port: int, workers: int = 1) -> None:
    _configure_logging(settings)
    engine = _prepared_engine(settings)
    if not http:
        _run_socket_mode(settings, engine)
        return
    focusbot = create_focusbot(settings, engine=engine)  # Bolt checks the bot token with Slack
    if http:
        if workers > 1 and engine.dialect.name == "sqlite":
            errors.print("Several workers share one SQLite file badly: use PostgreSQL for that.")
        typer.echo(f"focusbot listens on http://{host}:{port}/slack/events")
        if workers == 1:
            serve(lambda: focusbot, host, port)
            return
        engine.dispose()  # each worker opens its own connections
        serve(lambda: create_focusbot(settings), host, port, workers)
        return


def _run_socket_mode(settings: Settings, engine: Engine) -> None:
    """Serve Slack over Socket Mode until stopped, waiting for Slack while it is out of reach."""
    try:
        wait_for_slack(settings)
        focusbot = create_focusbot(settings, engine=engine)
        runner = SocketModeRunner(focusbot.app, focusbot.services)
        focusbot.scheduler.start(settings.scheduler_tick_seconds)
        pain_handlers.warm_up(focusbot.services)
        try:
            runner.start()
            runner.wait()
        finally:
            runner.close()
            focusbot.scheduler.shutdown()
    except SocketModeRefused as refusal:
        raise SetupError(f"focusbot cannot connect to Slack in Socket Mode. {refusal}") from None
    except KeyboardInterrupt:
        errors.print("focusbot stops.")


def _prepared_engine(settings: Settings) -> Engine:
    """Return the database engine, its schema current: SQLite upgrades itself, PostgreSQL asks."""
    engine = make_engine(settings.database_url, settings.database_connections)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    elif not is_current(engine):
        raise SetupError(
            f"The database schema is at {current_revision(engine) or 'nothing yet'}, "
            f"focusbot needs {head_revision(engine)}: run `focusbot migrate` first."
        )
    return engine


def _settings() -> Settings:
    """Read the settings once; a wrong one stops focusbot here, before anything starts."""
    invocation.settings = Settings()
    return invocation.settings


def _named(variables: list[str]) -> str:
    return " and ".join(variables)


def _console(settings: Settings) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("focusbot.bolt").setLevel(logging.ERROR)  # its hints are for developers
    terminal = Terminal(highlight=False, markup=False)
    where = describe_database(make_url(settings.console_database_url))
    terminal.print(
        f"The console keeps its data in {where}, apart from focusbot's own "
        "(CONSOLE_DATABASE_URL or --database-url choose another)."
    )
    console_settings = settings.model_copy(update={"database_url": settings.console_database_url})
    invocation.settings = console_settings  # a database problem is about the console's
    invocation.database_variable = "CONSOLE_DATABASE_URL"
    session = FocusbotConsole(console_settings, terminal)
    lines = TerminalLines() if sys.stdin.isatty() else PipedLines(sys.stdin, session.echo)
    try:
        session.run(lines)
    finally:
        session.close()


def _configure_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_json, secrets=settings.secret_values())


def main() -> None:
    """Run the command line; a setup problem ends it with plain words and exit status 2."""
    try:
        cli()
    except Exception as error:
        problem = explain(error, invocation.settings, invocation.database_variable)
        if problem is None or invocation.debug:
            raise
        errors.print(problem)
        errors.print("(focusbot --debug … shows the whole traceback.)", style="dim")
        sys.exit(SETUP_ERROR_EXIT)


if __name__ == "__main__":
    main()
