"""The fake workspace's bot id, what the fake Slack records, and the canned answers tests script."""

from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "UFOCUSBOT"


@dataclass(frozen=True)
class Call:
    """One request the app made: a Web API method or a post to a response_url."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class UploadedFile:
    """A file the app shared: where, its title, alt text, comment and bytes."""

    file_id: str
    channel: str
    title: str
    alt_text: str
    comment: str
    content: bytes


@dataclass(frozen=True)
class Scripted:
    """A canned answer for the next call: an HTTP status and JSON (none: Slack's usual), or a drop.

    With `after_processing`, the call takes effect (a message is posted) before the line drops.
    With `hold_seconds`, the call takes effect and the answer waits that long.
    """

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False
    after_processing: bool = False
    hold_seconds: float = 0.0


CHAOS = (
    Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}),
    Scripted(500, {"ok": False, "error": "internal_error"}),
    Scripted(drop_connection=True),
    Scripted(drop_connection=True, after_processing=True),
)
