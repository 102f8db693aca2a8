"""Draw docs/console.svg from a real console session: `make console-picture`."""

import io
import sys
import tempfile
from pathlib import Path

from rich.console import Console as Terminal

from bot.console.lines import PipedLines
from bot.console.repl import FocusbotConsole
from bot.runtime.settings import Settings

SESSION = [
    "tz Europe/Berlin",
    "/focus add Retrain the ranker with @alex on the new data",
    "/focus add Fix the flaky data loader",
    "click 1",
    "/pain the GPU queue is stuck again",
    "/pain review",
    "1",
    "planned",
    "Two more GPUs arrive next week",
    "/focus done abc",
    "wait 1w",
]


def draw(path: Path) -> None:
    """Run the session on a fresh database and save what the terminal showed as SVG."""
    terminal = Terminal(
        file=io.StringIO(),
        record=True,
        width=100,
        highlight=False,
        markup=False,
        force_terminal=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{folder}/picture.db")  # type: ignore[call-arg]
        console = FocusbotConsole(settings, terminal)
        try:
            console.run(PipedLines([line + "\n" for line in SESSION], console.echo))
        finally:
            console.close()
            console.focusbot.services.engine.dispose()
    terminal.save_svg(str(path), title="focusbot console")


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("console.svg"))
