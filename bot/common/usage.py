"""What a command answers when it cannot be read."""


class UsageError(Exception):
    """The command could not be read; the message says what was wrong, with one example.

    `show_usage` asks for every subcommand too: for a subcommand nobody has heard of.
    """

    def __init__(self, message: str, *, show_usage: bool = False) -> None:
        super().__init__(message)
        self.show_usage = show_usage
