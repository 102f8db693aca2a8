"""The console as a stand-in for Slack: piped lines in, what the terminal shows out."""

import io
import os
import pty
import re
import select
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console as Terminal

from bot.console.lines import PipedLines
from bot.console.repl import FocusbotConsole
from bot.runtime.settings import Settings


@pytest.fixture
def run_console(database_url: str) -> Iterator[Any]:
    """Return a function that pipes lines into one console session and returns what it showed."""
    screen = io.StringIO()
    terminal = Terminal(file=screen, width=160, highlight=False, markup=False, color_system=None)
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    console = FocusbotConsole(settings, terminal)

    def run(*lines: str) -> str:
        start = screen.tell()
        console.run(PipedLines([line + "\n" for line in lines], console.echo))
        return screen.getvalue()[start:]

    try:
        yield run
    finally:
        console.close()
        console.focusbot.services.engine.dispose()


def styled(*lines: str, database_url: str) -> str:
    """Run a console on a colour terminal; return what it showed, escape codes included."""
    screen = io.StringIO()
    terminal = Terminal(
        file=screen, width=160, force_terminal=True, color_system="standard", highlight=False
    )
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    console = FocusbotConsole(settings, terminal)
    try:
        console.run(PipedLines([line + "\n" for line in lines], console.echo))
    finally:
        console.close()
        console.focusbot.services.engine.dispose()
    return screen.getvalue()


def test_mrkdwn_is_shown_as_terminal_styles_not_as_marks(database_url: str) -> None:
    out = styled("/focus add Ship the eval harness", "/focus help", database_url=database_url)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "*Focus*" not in plain and "`/focus done <n>`" not in plain
    assert "Focus · #ml-team" in plain
    assert "\x1b[1mFocus\x1b[0m" in out  # bold, as Slack shows *Focus*
    assert re.search(r"\x1b\[[0-9;]*m/focus done <n>\x1b\[0m", out)  # code, styled apart


def test_each_line_is_echoed_once_after_its_prompt(run_console: Any) -> None:
    out = run_console("/focus add Ship the eval harness", "as alex", "in #infra", "/focus")
    assert out.count("@you #ml-team › /focus add Ship the eval harness") == 1
    assert "@alex #infra › /focus" in out


def test_buttons_are_numbered_per_message_and_older_ones_stay_clickable(run_console: Any) -> None:
    out = run_console("/focus add Ship the eval harness", "/focus add Fix the flaky loader")
    assert "only you · message 2" in out
    assert out.count("[1] Done  [2] Drop") == 2 and "[3] Done  [4] Drop" in out
    out = run_console("click 3")  # the newest message's third button: Done on item 2
    assert "finished “Fix the flaky loader”" in out
    out = run_console("click 1.1")  # the first message's first button: Done on item 1
    assert "finished “Ship the eval harness”" in out
    out = run_console("click 9.1", "click 0")
    assert out.count("Click a button by its number") == 2


def test_a_modal_lists_its_inputs_numbers_options_and_takes_numbers_or_text(
    run_console: Any,
) -> None:
    run_console("/pain the GPU queue is stuck again")
    out = run_console("/pain review", "1", "PLANNED", "Booked more GPUs")
    assert "modal: Review pain points" in out
    assert "1. Theme (pick one" in out and "2. Status (pick one" in out
    assert "3) planned" in out and "3. Note for the people who reported it" in out
    assert "(sent)" in out
    out = run_console("/pain show 1")
    assert "planned" in out.lower()
    out = run_console("/pain review", "gpu queue is stuck again", "in progress", "")
    assert "(sent)" in out
    assert "in progress" in run_console("/pain show 1").lower()


def test_cancel_closes_a_modal_and_a_wrong_answer_in_a_pipe_moves_on(run_console: Any) -> None:
    run_console("/pain the GPU queue is stuck again")
    out = run_console("/pain review", "cancel", "/focus add After the modal")
    assert "(modal closed, nothing sent)" in out
    assert "Added “After the modal”" in out
    out = run_console("/pain review", "No such theme", "/focus add Still read")
    assert "“No such theme” is none of the Theme options" in out
    assert "Added “Still read”" in out
    out = run_console("/pain review", "1", "quit", "/focus add Never read")
    assert "(modal closed, nothing sent)" in out and "Never read" not in out


def test_each_post_says_who_sees_it(run_console: Any) -> None:
    out = run_console("/focus add Ship the eval harness")
    assert "only you · message 1" in out
    out = run_console("/focus share")
    assert "in #ml-team" in out
    run_console("/pain leads add @lead", "as lead", "/pain threshold 2 4")
    out = run_console("as sam", "/pain GPU queue stuck", "as kim", "/pain GPU queue stuck")
    assert "DM to @lead" in out and "Demand is growing: 2 people" in out
    assert "DM to @kim" not in out and "your DM with focusbot" not in out


def test_an_export_is_shown_as_a_file_with_its_first_lines(run_console: Any) -> None:
    run_console("/pain the GPU queue is stuck again", "/pain the loader is flaky")
    out = run_console("/pain export")
    assert "file, DM to @you" in out
    assert re.search(r"pain-points-\d{4}-\d{2}-\d{2}\.csv · \d+ bytes · 3 lines", out)
    assert "number,created_at,reporter" in out and "the loader is flaky" in out


def test_tz_takes_effect_at_once(run_console: Any) -> None:
    run_console("/maker")
    out = run_console("tz America/New_York", "/maker")
    assert "Times in your timezone (America/New_York)" in out
    assert "(America/New_York)" in run_console("time")


def test_wait_shows_each_post_with_its_time_and_summarises_a_long_stretch(
    run_console: Any,
) -> None:
    run_console("/focus add Ship the eval harness")
    out = run_console("wait 3w")
    assert re.search(r"in #ml-team · Mon \d{1,2} \w{3} \d{4}, \d\d:\d\d", out)
    assert "Weekly focus check" in out
    out = run_console("wait 30w")
    assert re.search(r"… \d+ more posts from", out)
    assert re.search(r"\d+ × Weekly focus check · in #ml-team", out)
    assert len(out.splitlines()) < 150


def test_a_typo_gets_one_line_with_an_example_and_help_gets_everything(run_console: Any) -> None:
    typos = {
        "/focus done abc": "Give a number, for example /focus done 2. Nothing was changed.",
        "/pain top 0": "Weeks go from 1 to 52, for example /pain top 8. Nothing was changed.",
        "/maker set big 0": "Give a number of people, for example /maker set big 8.",
        "/milestone cadence 0": "Give a number of weeks from",
    }
    for typo, answer in typos.items():
        out = run_console(typo)
        assert answer in out
        shown = out.split(typo, 1)[1].strip().splitlines()
        assert len(shown) == 2, shown  # the label, then one line
    out = run_console("/focus frobnicate")
    assert "I don't know /focus frobnicate." in out and "/focus stall [weeks]" in out
    assert "/milestone edit <n> target <date> [confidence <p>%]" in run_console("/milestone help")


def test_mentions_inside_an_item_stay_in_its_text_everywhere(run_console: Any) -> None:
    out = run_console("/focus add Retrain with @alex and @sam on the new data @kim")
    assert "Added “Retrain with @alex and @sam on the new data”." in out
    assert "@alex, @kim, @sam · in focus today" in out
    assert "added “Retrain with @alex and @sam on the new data”" in run_console("/focus history")
    run_console("/pain the GPU queue is stuck again")  # starts the channel's digest
    digest = run_console("/pain digest")
    assert "Added: Retrain with @alex and @sam on the new data" in digest


def test_settings_answers_show_the_new_value_and_dates_have_one_form(run_console: Any) -> None:
    out = run_console("/maker set long 45m", "/maker set big 5")
    assert "a meeting is long from 45m and big from 6 people" in out
    assert "a meeting is long from 45m and big from 5 people" in out
    out = run_console(
        "/milestone add Ship v2 target 2030-03-04 confidence 70%",
        "/milestone edit 1 target 2030-03-11 confidence 60%",
        "/pain the GPU queue is stuck again",
        "/pain digest",
    )
    assert "New: #1 Ship v2 — target Mon 4 Mar 2030, 70%" in out
    assert "Target moved: #1 Ship v2 — Mon 4 Mar 2030 → Mon 11 Mar 2030" in out
    assert not re.search(r"\b[A-Z][a-z]{2} 0\d [A-Z][a-z]{2}\b", out)  # never `Mon 04 Mar`


def test_at_a_terminal_lines_can_be_edited_and_recalled_and_show_once(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {"CONSOLE_DATABASE_URL": f"sqlite:///{tmp_path / 'tty.db'}", "TERM": "xterm"}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: focusbot's console at a terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot.cli", "console"], env)
    screen = b""

    def read_until(marker: bytes, times: int = 1) -> None:
        nonlocal screen
        while screen.count(marker) < times:
            ready, _, _ = select.select([terminal], [], [], 60)
            assert ready, screen.decode(errors="replace")
            screen += os.read(terminal, 65536)

    try:
        prompt = "@you #ml-team › ".encode()
        read_until(prompt)
        os.write(terminal, b"/focus add Ship the eval harnesx\x7fs\r")  # backspace edits
        read_until(b"1 of 3")
        read_until(prompt, 2)
        os.write(terminal, b"\x1b[A\r")  # the up arrow brings the line back
        read_until(b"2 of 3")
        read_until(prompt, 3)
        os.write(terminal, b"quit\r")
        os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    shown = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", screen).decode(errors="replace")
    assert shown.count("Added “Ship the eval harness”.") == 2
    assert "^[[A" not in shown
    assert shown.count("/focus add Ship the eval harness") <= 2  # typed once, recalled once
