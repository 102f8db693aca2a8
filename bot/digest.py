"""The weekly ML sync digest: each feature contributes a section for a channel's week."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from storage.base import Workspace


@dataclass(frozen=True)
class DigestWindow:
    """The week a digest covers, for one channel."""

    workspace: Workspace
    channel_id: str
    start: datetime
    end: datetime
    timezone: str


@dataclass(frozen=True)
class DigestLine:
    """One fact of a section, in plain text, with the people it names."""

    text: str
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestSection:
    """A feature's part of the digest; `order` places it among the others."""

    title: str
    lines: tuple[DigestLine, ...]
    order: int = 100


DigestSectionBuilder = Callable[[Session, DigestWindow], DigestSection | None]


def build_digest(
    session: Session, window: DigestWindow, builders: Sequence[DigestSectionBuilder]
) -> list[DigestSection]:
    """Return every feature's non-empty section, in order."""
    sections = [builder(session, window) for builder in builders]
    return sorted(
        (section for section in sections if section is not None and section.lines),
        key=lambda section: section.order,
    )
