"""Turn the errors of setting focusbot up into a few plain words: what is wrong and what to do."""

import errno
import socket
from collections.abc import Iterator
from urllib.error import URLError

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from bot.runtime.doctor import describe_database, token_problem
from bot.runtime.logs import redact
from bot.runtime.settings import DATABASE_URL_EXAMPLES, Settings

# Values safe to quote back; the others may be secrets or hold a password.
_QUOTABLE = frozenset({"log_level", "log_json", "calendar_private_addresses", "slack_api_url"})
_MEANING = {
    "float_parsing": "must be a number of seconds, like 30",
    "greater_than": "must be more than 0 seconds",
    "bool_parsing": "must be true or false",
}


class SetupError(Exception):
    """A problem with focusbot's setup that its message explains in full."""


def explain(
    error: BaseException,
    settings: Settings | None = None,
    database_variable: str = "DATABASE_URL",
) -> str | None:
    """Return what went wrong and what to do, or None for an error that is a bug in focusbot."""
    slack_api_url = settings.slack_api_url if settings else "Slack's Web API"
    database_url = settings.database_url if settings else None
    for cause in _chain(error):
        if isinstance(cause, SetupError):
            return str(cause)
        if isinstance(cause, ValidationError):
            return _settings_problem(cause)
        if isinstance(cause, SlackApiError):
            return _slack_problem(cause)
        if isinstance(cause, OperationalError | InterfaceError):
            return _unreachable_database(cause, database_url, database_variable)
        if isinstance(cause, ArgumentError | NoSuchModuleError):
            return (
                f"focusbot cannot read DATABASE_URL ({_reason(cause)}): write it like "
                f"{DATABASE_URL_EXAMPLES}."
            )
        if isinstance(cause, OSError) and cause.filename is not None:
            return _file_problem(cause)
        if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
            return (
                "The address focusbot should listen on is in use: another focusbot or another "
                "program listens there. Stop it, or choose another with --host and --port."
            )
        if isinstance(cause, URLError | ConnectionError | TimeoutError | socket.gaierror):
            return (
                f"Cannot reach Slack at {slack_api_url} ({_reason(cause)}). Check the network, "
                "a proxy, or SLACK_API_URL; focusbot doctor checks every setting."
            )
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Yield the error and the errors it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _settings_problem(error: ValidationError) -> str:
    lines = ["focusbot cannot start: a setting is wrong."]
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        variable = field.upper()
        meaning = _MEANING.get(problem["type"]) or problem["msg"].removeprefix("Value error, ")
        shown = f"{variable}={problem['input']}" if field in _QUOTABLE else variable
        lines.append(f"  {shown} {meaning}.")
    lines.append("Fix it in the environment or in the .env file, then start focusbot again.")
    return "\n".join(lines)


def _slack_problem(error: SlackApiError) -> str:
    code = str(error.response.get("error", "unknown_error"))
    if "apps.connections.open" in str(error.response.api_url):
        return (
            f"Slack refused SLACK_APP_TOKEN ({code}): Socket Mode needs an app-level token with "
            "the connections:write scope (Basic Information → App-Level Tokens, it starts with "
            "xapp-)."
        )
    return token_problem(code)


def _unreachable_database(
    error: OperationalError | InterfaceError, url: str | None, variable: str
) -> str:
    parsed = make_url(url) if url else None
    where = describe_database(parsed) if parsed else "the database"
    password = [parsed.password] if parsed and parsed.password else []
    reason = redact(_reason(error.orig or error), password)
    if parsed and parsed.get_backend_name() == "sqlite":
        check = "that its folder exists and that focusbot may write there"
    else:
        check = "that the database server runs and that this machine may connect to it"
    return (
        f"Cannot reach {where}: {reason}. Check {variable}, {check}; "
        "focusbot doctor checks every setting."
    )


def _file_problem(error: OSError) -> str:
    reason = error.strerror or type(error).__name__
    return (
        f"Cannot use the file {error.filename}: {reason}. "
        "Choose a path in a folder that exists and that you may write to."
    )


def _reason(error: BaseException) -> str:
    """Return an error's own first line, without a password or token."""
    text = str(getattr(error, "reason", None) or error).strip() or type(error).__name__
    return redact(text.splitlines()[0].rstrip("."))
