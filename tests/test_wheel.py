"""focusbot as users install it: the wheel in a fresh virtualenv, run outside the checkout."""

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from bot.console.fakeslack import FakeSlack
from bot.runtime.manifest import bot_scopes
from tests.conftest import SIGNING_SECRET, SlackUser

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["bot", "handlers", "storage", "pyproject.toml", "README.md", "LICENSE"]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    """A virtualenv with the focusbot wheel installed, and an empty folder to run it from."""

    venv: Path
    home: Path

    def run(
        self, *args: str, stdin: str = "", timeout: float = 120, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "focusbot"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.home,
            env=clean_environment(**variables),
            timeout=timeout,
        )


def clean_environment(**variables: str) -> dict[str, str]:
    """Return the environment without focusbot's settings or a path into the checkout."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "CONSOLE_", "LOG_", "SCHEDULER_"))
        and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {**kept, "COLUMNS": "200", **variables}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a copy of what ships, and install it into a fresh virtualenv."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    wheels = base / "wheels"
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    venv = base / "venv"
    # pip installs into the new virtualenv from outside it, and leaves the bytecode to the
    # first run: a pip of its own and every dependency's bytecode took most of the time.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = wheels.glob("focusbot-*.whl")
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-compile", str(wheel)],
        check=True,
        env=clean_environment(),
    )
    home = base / "home"
    home.mkdir()
    return Installed(venv, home)


def test_the_installed_focusbot_runs_from_its_own_files(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import bot, storage; print(bot.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.home,
        env=clean_environment(),
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = installed.run("--version")
    assert shown.returncode == 0 and shown.stdout.strip() == f"focusbot {version}"
    manifest = installed.run("manifest")
    assert "socket_mode_enabled: true" in manifest.stdout


def test_the_installed_focusbot_migrates_a_database(
    installed: Installed, database_url: str
) -> None:
    first = installed.run("migrate", DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "Upgraded the database schema from empty to" in first.stdout
    again = installed.run("migrate", DATABASE_URL=database_url)
    assert "up to date" in again.stdout


def test_the_installed_doctor_finds_everything_in_place(
    installed: Installed, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.scopes = list(bot_scopes())
    database = f"sqlite:///{tmp_path / 'focusbot.db'}"
    installed.run("migrate", DATABASE_URL=database)
    result = installed.run(
        "doctor",
        DATABASE_URL=database,
        SLACK_BOT_TOKEN="xoxb-installed",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.base_url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the token has all" in result.stdout
    assert "Everything focusbot needs is in place." in result.stdout


def test_the_installed_console_reads_piped_commands(installed: Installed) -> None:
    result = installed.run("console", stdin="/focus add Ship the eval harness\n/focus\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Added “Ship the eval harness”" in result.stdout
    assert (installed.home / "focusbot-console.db").exists()
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture
def served(installed: Installed, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[str]:
    """Run the installed `focusbot run --http` on a free port; return its address."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "focusbot"), "run", "--http", "--port", str(port)],
        cwd=installed.home,
        env=clean_environment(
            DATABASE_URL=f"sqlite:///{tmp_path / 'served.db'}",
            SLACK_BOT_TOKEN="xoxb-installed",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake_slack.base_url,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            pytest.fail(f"focusbot run --http exited with status {process.returncode}")
        try:
            with urlopen(base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail("focusbot run --http did not answer /healthz")


def test_the_installed_focusbot_serves_slack_and_its_metrics_over_http(
    served: str, fake_slack: FakeSlack
) -> None:
    answer = SlackUser(served, fake_slack).command("add Ship the eval harness")
    assert answer.status == 200 and "Added" in answer.text
    with urlopen(served + "/metrics", timeout=10) as metrics:
        shown = metrics.read().decode()
    assert 'focusbot_requests_total{kind="command",name="/focus",outcome="ok"} 1.0' in shown
