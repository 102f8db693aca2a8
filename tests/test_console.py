"""The console and the command line as a new user meets them: piped input, no credentials."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # each test starts focusbot, some several times


def focusbot(*args: str, stdin: str = "", database: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "CONSOLE_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{database}"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=database.parent,
        env=env,
        timeout=120,
    )


def test_the_console_drives_focus_commands_buttons_home_and_the_schedule(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "tz Europe/Berlin",
            "/focus add Ship the eval harness @alex",
            "/focus add Fix the flaky loader",
            "click 1",
            "/focus drop 7",
            "/focus frobnicate",
            "home",
            "as alex",
            "/focus",
            "wait 1w",
            "quit",
        ]
    )
    result = focusbot("console", stdin=script, database=tmp_path / "console.db")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Added “Ship the eval harness”" in out
    assert "@alex · in focus today" in out
    assert "@you finished “Ship the eval harness”" in out
    assert "There is no item 7: the list has one item, number 1." in out
    assert "I don't know /focus frobnicate. Nothing was changed." in out
    assert "your Home tab" in out
    assert "Weekly focus check" in out
    assert "Traceback" not in out + result.stderr


def test_the_console_keeps_its_data_between_runs(tmp_path: Path) -> None:
    database = tmp_path / "kept.db"
    focusbot("console", stdin="/focus add Remember me\n", database=database)
    result = focusbot("console", stdin="/focus\n", database=database)
    assert "Remember me" in result.stdout


def test_the_console_keeps_its_own_database_apart_from_focusbots(tmp_path: Path) -> None:
    focusbot("migrate", database=tmp_path / "focusbot.db")
    tried = focusbot(
        "console", stdin="/pain The GPU queue is slow\n", database=tmp_path / "focusbot.db"
    )
    assert "keeps its data in SQLite file focusbot-console.db" in tried.stdout
    assert (tmp_path / "focusbot-console.db").exists()
    exported = focusbot("export", "pain", database=tmp_path / "focusbot.db")
    assert exported.returncode == 0, exported.stderr
    assert "GPU queue" not in exported.stdout
    in_console = focusbot("export", "pain", database=tmp_path / "focusbot-console.db")
    assert "GPU queue" in in_console.stdout
    elsewhere = tmp_path / "elsewhere.db"
    chosen = focusbot(
        "console",
        "--database-url",
        f"sqlite:///{elsewhere}",
        stdin="/focus add Try it\n",
        database=tmp_path / "focusbot.db",
    )
    assert f"SQLite file {elsewhere}" in chosen.stdout and elsewhere.exists()


def test_run_without_credentials_names_what_is_missing_and_points_at_the_console(
    tmp_path: Path,
) -> None:
    result = focusbot("run", database=tmp_path / "x.db")
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set" in result.stderr
    assert "focusbot console" in result.stderr
    result = focusbot("run", "--http", database=tmp_path / "x.db")
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in result.stderr


def test_migrate_brings_an_empty_database_to_the_newest_schema(tmp_path: Path) -> None:
    first = focusbot("migrate", database=tmp_path / "m.db")
    assert first.returncode == 0 and "Upgraded the database schema from empty to" in first.stdout
    again = focusbot("migrate", database=tmp_path / "m.db")
    assert "up to date" in again.stdout


def test_the_console_shows_focus_across_teams(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "in #research",
            "/focus add Retrain the ranker",
            "in #ml-team",
            "/focus add Ship the eval harness",
            "as alex",
            "/focus all",
            "/focus follow #research",
            "home",
            "quit",
        ]
    )
    result = focusbot("console", stdin=script, database=tmp_path / "across.db")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Focus across teams" in out
    assert "#research · 1 of 3 · changed today" in out and "Retrain the ranker" in out
    assert "You now follow #research's focus list" in out
    across = out.rpartition("› home")[2].partition("Across teams")[2]
    assert across.index("#research") < across.index("#ml-team")  # followed first
    assert "Traceback" not in out + result.stderr
