"""Where the console's lines come from: a pipe (echoed once) or a terminal (readline)."""

from collections.abc import Callable, Iterable, Iterator


class PipedLines:
    """Lines read from a pipe or a file, each echoed once after its prompt."""

    interactive = False

    def __init__(self, lines: Iterable[str], echo: Callable[[str, str], None]) -> None:
        self._lines: Iterator[str] = iter(lines)
        self._echo = echo
        self._pushed: list[str] = []

    def read(self, prompt: str) -> str | None:
        """Return the next line without its newline, or None at the end of input."""
        if self._pushed:
            return self._pushed.pop()
        line = next(self._lines, None)
        if line is None:
            return None
        line = line.rstrip("\r\n")
        self._echo(prompt, line)
        return line

    def push_back(self, line: str) -> None:
        """Give a line back, to be read next."""
        self._pushed.append(line)


class TerminalLines:
    """Lines typed at a terminal, with line editing and history."""

    interactive = True

    def __init__(self) -> None:
        import readline  # noqa: F401 — importing it gives input() line editing and history

        self._pushed: list[str] = []

    def read(self, prompt: str) -> str | None:
        """Return the line typed after the prompt, or None on Ctrl-D."""
        if self._pushed:
            return self._pushed.pop()
        try:
            return input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            return None

    def push_back(self, line: str) -> None:
        """Give a line back, to be read next."""
        self._pushed.append(line)
