"""Structured logging without secrets: JSON lines or plain text, tokens and passwords redacted."""

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_SLACK_TOKEN = re.compile(r"(xox[abposre]|xoxe\.xox[bp]|xapp)-[A-Za-z0-9-]+")
_SECRET_QUERY = re.compile(
    r"([?&](?:access_token|token|key|secret|sig|signature|password|auth)=)[^&#\s]+",
    re.IGNORECASE,
)
# One match per address, never starting inside a scheme: every pattern here runs in linear time.
_URL = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*)://([^\s\"'<>]*)", re.IGNORECASE)
# A private calendar feed's address is its own password: keep the host, hide the rest.
_PRIVATE_FEED = re.compile(r"\.ics\b|/ical/|/private", re.IGNORECASE)
# Response URLs and incoming webhooks let anyone post as the app (also inside encoded bodies).
_SLACK_HOOK = re.compile(
    r"\b(https?(?:://|%3A%2F%2F)hooks\.slack\.com)(?:/|%2F)[^\s\"'<>&]*", re.IGNORECASE
)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime", "taskName"}
)
_OWN_HANDLER = "_focusbot_handler"
MAX_MESSAGE_CHARS = 4000
MAX_DETAIL_CHARS = 20000  # a traceback or stack
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str, secrets: Iterable[str] = (), limit: int | None = None) -> str:
    """Hide Slack tokens, URL passwords, secret query values and private feed addresses.

    With a limit, text beyond it is left out (and said so) before any pattern runs.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if limit is not None:
        text = capped(text, limit)
    text = _SLACK_TOKEN.sub(lambda match: f"{match.group(1)}-{REDACTED}", text)
    text = _URL.sub(_redact_address, text)
    text = _SECRET_QUERY.sub(lambda match: f"{match.group(1)}{REDACTED}", text)
    return _SLACK_HOOK.sub(lambda match: f"{match.group(1)}/{REDACTED}", text)


def capped(text: str, limit: int) -> str:
    """Cut text to a limit, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def _redact_address(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), _without_password(match.group(2))
    host = rest[: min([len(rest), *(i for i in map(rest.find, "/?#") if i >= 0)])]
    if scheme.lower() == "webcal" and host:
        return f"{scheme}://{host}/{REDACTED}"
    feed = _PRIVATE_FEED.search(rest, 1) if scheme.lower() in ("http", "https") else None
    if feed is not None:
        return f"{scheme}://{host[: feed.start()]}/{REDACTED}"
    return f"{scheme}://{rest}"


def _without_password(rest: str) -> str:
    """Hide the password of an address's `user:password@` part."""
    colon = rest.find(":")
    if colon < 0 or "/" in rest[:colon] or "@" in rest[:colon]:
        return rest
    at = rest.find("@", colon + 1)
    return rest if at <= colon + 1 else f"{rest[: colon + 1]}{REDACTED}{rest[at:]}"


def escape_controls(text: str, keep_line_breaks: bool = False) -> str:
    """Show newlines and other control characters as escapes, so no value can forge a line."""
    pattern = _LINE_BREAK_OR_CONTROL if keep_line_breaks else _CONTROL
    return pattern.sub(lambda match: repr(match.group())[1:-1], text)


class RedactSecrets(logging.Filter):
    """Redact secrets from a record's message, arguments, extra fields and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still gets logged, as logging would
            message = f"{record.msg!s} {record.args!s}"
        record.msg, record.args = self._clean(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text, MAX_DETAIL_CHARS)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info, MAX_DETAIL_CHARS)
        for name, value in extra_fields(record).items():
            setattr(record, name, self._clean_value(value))
        return True

    def _clean(self, text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
        return redact(text, self.secrets, limit)

    def _clean_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._clean(value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        if isinstance(value, dict):
            return {key: self._clean_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean_value(item) for item in value]
        return self._clean(str(value))


class JsonLinesFormatter(logging.Formatter):
    """Format each record as one JSON object: time (UTC), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single line of JSON."""
        entry: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extra_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Format each record as one line of text; a traceback follows on indented lines."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record with every control character of its message escaped."""
        record.message = escape_controls(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for detail in (record.exc_text, record.stack_info):
            if detail:
                text += "".join(
                    f"\n    {escape_controls(line, keep_line_breaks=True)}"
                    for line in detail.splitlines()
                )
        return text


def utc_timestamp(created: float) -> str:
    """Return a record's creation time in UTC, ISO 8601 with milliseconds."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields a caller attached to a record with `extra=`."""
    return {
        name: value
        for name, value in record.__dict__.items()
        if name not in _STANDARD_ATTRIBUTES and not name.startswith("_")
    }


def configure_logging(
    level: str,
    json_lines: bool,
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record to stderr (or `stream`), redacted, as JSON lines or plain text.

    `secrets` are literal values to hide wherever they appear (the signing secret, say).
    Calling it again replaces the handler it installed before; other handlers stay.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonLinesFormatter() if json_lines else TextFormatter(TEXT_FORMAT)
    formatter.converter = time.gmtime
    formatter.default_time_format, formatter.default_msec_format = "%Y-%m-%dT%H:%M:%S", "%s.%03dZ"
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets(secrets))
    setattr(handler, _OWN_HANDLER, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _OWN_HANDLER, False)]:
        root.removeHandler(previous)
        previous.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
