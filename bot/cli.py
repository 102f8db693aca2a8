"""The `focusbot` command line: run, console, migrate."""

import logging
import sys
from collections.abc import Iterator

import typer
from rich.console import Console as Terminal

from bot.app import Focusbot, create_focusbot
from bot.console import FocusbotConsole
from bot.settings import Settings
from bot.web import serve
from storage.db import make_engine
from storage.schema import current_revision, head_revision, is_current, upgrade

cli = typer.Typer(
    name="focusbot",
    help="focusbot runs the rituals of a machine-learning team in Slack.",
    no_args_is_help=True,
    add_completion=False,
)
errors = Terminal(stderr=True, markup=False, highlight=False)


@cli.command()
def run(
    http: bool = typer.Option(False, "--http", help="Serve Slack's requests over HTTP."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (HTTP mode)."),
    port: int = typer.Option(3000, help="Port to listen on (HTTP mode)."),
) -> None:
    """Run focusbot in Socket Mode, or over HTTP with --http."""
    settings = Settings()
    missing = settings.missing_for_http() if http else settings.missing_for_socket_mode()
    if missing:
        mode = "HTTP mode" if http else "Socket Mode"
        errors.print(
            f"focusbot cannot start in {mode}: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set.\n"
            "Set them in the environment or in a .env file (see README.md), "
            "or try focusbot without Slack: focusbot console"
        )
        raise typer.Exit(2)
    _serve(settings, http=http, host=host, port=port)


@cli.command()
def start() -> None:
    """Start focusbot the way its settings allow: Socket Mode, HTTP, or else the console."""
    settings = Settings()
    if not settings.missing_for_socket_mode():
        _serve(settings, http=False, host="127.0.0.1", port=3000)
    elif not settings.missing_for_http():
        _serve(settings, http=True, host="127.0.0.1", port=3000)
    else:
        errors.print("No Slack credentials are set, so focusbot starts its local console.")
        _console(settings)


@cli.command()
def console() -> None:
    """Try focusbot without Slack: type slash commands, click buttons, watch scheduled posts."""
    _console(Settings())


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest revision."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        typer.echo(f"The database schema is up to date (revision {after}).")
    else:
        typer.echo(f"Upgraded the database schema from {before or 'empty'} to {after}.")


def _serve(settings: Settings, *, http: bool, host: str, port: int) -> None:
    _configure_logging(settings)
    focusbot = _prepared(settings)
    focusbot.scheduler.start(settings.scheduler_tick_seconds)
    try:
        if http:
            typer.echo(f"focusbot listens on http://{host}:{port}/slack/events")
            serve(focusbot, host, port)
        else:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack_app_token is not None
            SocketModeHandler(focusbot.app, settings.slack_app_token.get_secret_value()).start()
    finally:
        focusbot.scheduler.shutdown()


def _prepared(settings: Settings) -> Focusbot:
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    elif not is_current(engine):
        errors.print(
            f"The database schema is at {current_revision(engine) or 'nothing yet'}, "
            f"focusbot needs {head_revision(engine)}: run  focusbot migrate"
        )
        raise typer.Exit(2)
    return create_focusbot(settings, engine=engine)


def _console(settings: Settings) -> None:
    logging.basicConfig(level=logging.WARNING)
    terminal = Terminal(highlight=False, markup=False)
    session = FocusbotConsole(settings, terminal)
    try:
        session.run(_input_lines(terminal))
    finally:
        session.close()


def _input_lines(terminal: Terminal) -> Iterator[str]:
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield terminal.input("› ")
        except (EOFError, KeyboardInterrupt):
            return


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Run the command line."""
    cli()


if __name__ == "__main__":
    main()
