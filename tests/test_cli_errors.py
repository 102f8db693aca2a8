"""The command line's one error path: plain words naming the setting or file, exit status 2."""

import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from bot.app.factory import create_focusbot
from bot.console.fakeslack import FakeSlack, Scripted
from bot.runtime.problems import explain
from bot.runtime.settings import Settings
from tests.conftest import SIGNING_SECRET, settings_for

pytestmark = pytest.mark.slow  # each test starts focusbot

SETUP_ERROR = 2
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO|WARNING|ERROR) ")
PASSWORD = "cl1-Pa55w0rd"


def focusbot(
    *args: str, cwd: Path, timeout: float = 120, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "CONSOLE_", "LOG_", "SCHEDULER_"))
    }
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Assert the command stopped with a short explanation that says these words."""
    assert result.returncode == SETUP_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    said = [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(said) <= 6, result.stderr
    for word in words:
        assert word in result.stderr


def unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SCHEDULER_TICK_SECONDS", "abc", ["SCHEDULER_TICK_SECONDS must be a number of seconds"]),
        ("SCHEDULER_TICK_SECONDS", "0", ["SCHEDULER_TICK_SECONDS must be more than 0"]),
        ("LOG_LEVEL", "bogus", ["LOG_LEVEL=bogus is not a log level", "WARNING"]),
        ("DATABASE_URL", "focusbot.db", ["DATABASE_URL is not a database URL", "sqlite:///"]),
        ("DATABASE_URL", f"mysql://me:{PASSWORD}@db/x", ["DATABASE_URL names a mysql database"]),
        ("LOG_JSON", "maybe", ["LOG_JSON=maybe must be true or false"]),
    ],
)
def test_a_bad_setting_is_explained_by_name(variable: str, value: str, words: list[str]) -> None:
    with pytest.raises(ValidationError) as refusal:
        Settings(_env_file=None, **{variable.lower(): value})  # type: ignore[call-arg]
    said = explain(refusal.value)
    assert said is not None and "focusbot cannot start: a setting is wrong" in said
    for word in words:
        assert word in said
    assert PASSWORD not in said


@pytest.mark.parametrize("command", ["start", "migrate", "doctor", "console", "export pain"])
def test_every_command_checks_the_settings_before_it_does_anything(
    tmp_path: Path, command: str
) -> None:
    result = focusbot(*command.split(), cwd=tmp_path, SCHEDULER_TICK_SECONDS="soon")
    refused(result, "SCHEDULER_TICK_SECONDS must be a number of seconds")
    assert list(tmp_path.iterdir()) == [], "nothing was created before the settings were read"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = focusbot("--debug", "migrate", cwd=tmp_path, LOG_LEVEL="bogus")
    assert result.returncode != 0
    assert "ValidationError" in result.stderr


def test_a_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'focusbot.db'}"
    target = tmp_path / "missing" / "x.csv"
    result = focusbot("export", "pain", "--out", str(target), cwd=tmp_path, DATABASE_URL=database)
    refused(result, f"Cannot use the file {target}: No such file or directory")


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://focusbot:{PASSWORD}@127.0.0.1:{unused_port()}/focusbot"
    result = focusbot("migrate", cwd=tmp_path, DATABASE_URL=url)
    refused(result, "Cannot reach PostgreSQL database “focusbot” on 127.0.0.1", "DATABASE_URL")
    assert PASSWORD not in result.stderr


def test_run_with_a_token_slack_refuses_says_so(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.script("auth.test", Scripted(200, {"ok": False, "error": "invalid_auth"}))
    result = focusbot(
        "run",
        "--http",
        "--port",
        str(unused_port()),
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-wrong-token-1234",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.base_url,
    )
    refused(result, "Slack does not accept SLACK_BOT_TOKEN", "OAuth & Permissions")
    assert "listens on" not in result.stdout
    assert "xoxb-wrong-token-1234" not in result.stderr


def test_run_over_http_with_slack_unreachable_says_so(tmp_path: Path) -> None:
    # Socket Mode waits for Slack instead: tests/test_socket_mode.py
    api = f"http://127.0.0.1:{unused_port()}/api/"
    result = focusbot(
        "run",
        "--http",
        "--port",
        str(unused_port()),
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-1-2-3",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=api,
        LOG_LEVEL="CRITICAL",
    )
    refused(result, f"Cannot reach Slack at {api}", "SLACK_API_URL")


def test_only_a_bot_token_names_what_each_mode_still_needs(tmp_path: Path) -> None:
    result = focusbot("start", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-1-2-3")
    refused(result, "Socket Mode also needs SLACK_APP_TOKEN", "HTTP mode also needs")
    assert "No Slack credentials are set" not in result.stderr


def test_starting_logs_no_warning_about_a_second_token(
    fake_slack: FakeSlack,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")  # Bolt reads it on its own
    with caplog.at_level(logging.DEBUG):
        create_focusbot(settings_for(fake_slack, database_url), engine=engine)
    assert "will be unused" not in caplog.text
    assert fake_slack.calls_to("auth.test"), "the token reached Slack once, through the client"


def test_socket_mode_with_an_app_token_slack_refuses_names_it(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.script(
        "apps.connections.open", Scripted(200, {"ok": False, "error": "invalid_auth"})
    )
    result = focusbot(
        "run",
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-1-2-3",
        SLACK_APP_TOKEN="xapp-1-refused",
        SLACK_API_URL=fake_slack.base_url,
        LOG_LEVEL="CRITICAL",
    )
    refused(result, "Slack refused SLACK_APP_TOKEN (invalid_auth)", "connections:write")


def test_a_console_database_in_a_missing_folder_is_named(tmp_path: Path) -> None:
    where = tmp_path / "missing" / "console.db"
    result = focusbot("console", cwd=tmp_path, CONSOLE_DATABASE_URL=f"sqlite:///{where}")
    refused(result, f"Cannot reach SQLite file {where}", "Check CONSOLE_DATABASE_URL")
