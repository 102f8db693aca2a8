"""Structured logs: a JSON object a line, in UTC, never a token, password or private address."""

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest

from bot.runtime.logs import configure_logging, redact

BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
USER_TOKEN = "xoxp-1234567890-1234567890-1234567890-0123456789abcdef0123456789abcdef"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"
ROTATING_TOKEN = "xoxe.xoxb-1-MS0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MA"
REFRESH_TOKEN = "xoxe-1-My0xLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MA"
DATABASE_URL = "postgresql+psycopg://focusbot:s3cr3t-Pa55@db.internal:5432/focusbot"
CALENDAR_URL = (
    "https://calendar.google.com/calendar/ical/alice%40example.com/private-9f8e7d6c5b4a/basic.ics"
)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Log as JSON lines into a buffer; put the root logger back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging("debug", True, secrets=[SIGNING_SECRET], stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_time_level_logger_message_and_extras(
    captured: io.StringIO,
) -> None:
    logging.getLogger("focusbot.scheduler").info(
        "delivered %s posts", 3, extra={"workspace": "T0TEAM", "attempt": 2}
    )
    logging.getLogger("focusbot.web").warning("slow answer:\nsecond line")
    first, second = lines(captured)
    assert first["level"] == "INFO" and first["logger"] == "focusbot.scheduler"
    assert first["message"] == "delivered 3 posts"
    assert first["workspace"] == "T0TEAM" and first["attempt"] == 2
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert second["message"] == "slow answer:\nsecond line"


def test_the_time_is_utc_whatever_the_local_timezone(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        record = logging.LogRecord("focusbot", logging.INFO, __file__, 1, "hello", None, None)
        record.created = 1_782_000_000.25  # 2026-06-21T00:00:00.250Z
        logging.getLogger().handle(record)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert lines(captured)[0]["time"] == "2026-06-21T00:00:00.250Z"


@pytest.mark.parametrize(
    "secret", [BOT_TOKEN, USER_TOKEN, APP_TOKEN, ROTATING_TOKEN, REFRESH_TOKEN, SIGNING_SECRET]
)
def test_a_token_in_a_message_or_its_arguments_never_shows(
    captured: io.StringIO, secret: str
) -> None:
    log = logging.getLogger("focusbot.app")
    log.info(f"calling Slack with {secret}")
    log.info("calling Slack with %s", secret)
    log.info("headers %r", {"Authorization": f"Bearer {secret}"})
    log.info("token is set", extra={"token": secret, "nested": {"tokens": [secret]}})
    output = captured.getvalue()
    assert secret not in output
    assert secret[12:30] not in output
    assert output.count("[redacted]") == 5
    assert lines(captured)[0]["message"] == "calling Slack with " + (
        "[redacted]" if secret == SIGNING_SECRET else secret.split("-")[0] + "-[redacted]"
    )


def test_a_token_in_a_traceback_never_shows(captured: io.StringIO) -> None:
    try:
        raise RuntimeError(f"Slack refused {BOT_TOKEN}")
    except RuntimeError:
        logging.getLogger("focusbot.scheduler").exception("delivery failed")
    (entry,) = lines(captured)
    assert "RuntimeError: Slack refused xoxb-[redacted]" in entry["exception"]
    assert BOT_TOKEN not in captured.getvalue()


def test_database_passwords_and_private_calendar_addresses_never_show(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("focusbot")
    log.error("cannot connect to %s", DATABASE_URL)
    log.info("fetching %s", CALENDAR_URL)
    log.info("fetching webcal://p01-caldav.icloud.com/published/2/MTAxNzM0NTY3ODkw")
    log.info("posting to https://hooks.slack.com/commands/T0TEAM/123456/AbCdEf0123")
    log.info("api call https://slack.com/api/auth.test?token=abc123def456&pretty=1")
    messages = [entry["message"] for entry in lines(captured)]
    assert messages == [
        "cannot connect to postgresql+psycopg://focusbot:[redacted]@db.internal:5432/focusbot",
        "fetching https://calendar.google.com/[redacted]",
        "fetching webcal://p01-caldav.icloud.com/[redacted]",
        "posting to https://hooks.slack.com/[redacted]",
        "api call https://slack.com/api/auth.test?token=[redacted]&pretty=1",
    ]


def test_ordinary_text_and_addresses_stay_readable() -> None:
    text = "Added “Ship the eval harness” for <@U0ALICE> · see https://docs.example.com/eval?page=2"
    assert redact(text) == text


def test_plain_text_lines_are_redacted_too_and_say_utc() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging("warning", False, stream=buffer)
    try:
        logging.getLogger("focusbot").info("not shown %s", BOT_TOKEN)
        logging.getLogger("focusbot").warning("token %s refused", BOT_TOKEN)
    finally:
        root.removeHandler(handler)
        root.handlers[:] = handlers
        root.setLevel(level)
    (line,) = buffer.getvalue().splitlines()
    assert line.endswith("WARNING focusbot: token xoxb-[redacted] refused")
    assert line.split(" ")[0].endswith("Z")


def test_configuring_again_replaces_the_handler_instead_of_doubling_lines(
    captured: io.StringIO,
) -> None:
    second = io.StringIO()
    configure_logging("info", True, stream=second)
    logging.getLogger("focusbot").info("once")
    assert captured.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1


HOSTILE_ADDRESSES = [
    "http://" + "a" * 100_000,
    "http://h" + "a" * 100_000 + ".ic",
    "a." * 50_000 + "://",
    "a://:" * 20_000,
    "https://x" + "/" * 100_000,
]


@pytest.mark.parametrize("hostile", HOSTILE_ADDRESSES, ids=lambda text: text[:12])
def test_redaction_gets_through_long_hostile_addresses(hostile: str) -> None:
    """Each pattern runs in linear time: these took minutes with overlapping quantifiers."""
    assert redact(hostile).startswith(hostile[:5])
    assert redact(f"{hostile} postgresql://u:pw@db/x").endswith("postgresql://u:[redacted]@db/x")


def text_log(*messages: str) -> str:
    """Log each message at warning level as plain text; return what was written."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging("info", False, stream=buffer)
    try:
        for message in messages:
            logging.getLogger("focusbot.web").warning("refused %s", message)
    finally:
        root.removeHandler(handler)
        root.handlers[:] = handlers
        root.setLevel(level)
    return buffer.getvalue()


def test_a_logged_value_cannot_forge_a_text_log_line() -> None:
    forged = "x\n2026-12-01T12:00:00.000Z ERROR focusbot: forged\r\x1b[2J\u2028"
    (line,) = text_log(forged).splitlines()
    assert line.endswith(
        r"focusbot.web: refused x\n2026-12-01T12:00:00.000Z ERROR focusbot: forged\r\x1b[2J\u2028"
    )


def test_a_traceback_in_text_logs_stays_indented_under_its_line() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging("info", False, stream=buffer)
    try:
        raise ValueError("bad\n2026-12-01T12:00:00.000Z ERROR focusbot: forged")
    except ValueError:
        logging.getLogger("focusbot").exception("failed")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = handlers
        root.setLevel(level)
    first, *rest = buffer.getvalue().splitlines()
    assert first.endswith("ERROR focusbot: failed") and rest
    assert all(line.startswith("    ") for line in rest)


def test_a_huge_value_is_never_logged_in_full(captured: io.StringIO) -> None:
    logging.getLogger("focusbot").warning("body %s", "a" * 1_000_000 + BOT_TOKEN)
    (entry,) = lines(captured)
    assert len(entry["message"]) < 5000
    assert entry["message"].endswith(" more characters]")
