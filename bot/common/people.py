"""People's timezones: asked of Slack once, then remembered for a week."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.common.recurrence import is_known_timezone
from storage.base import Workspace
from storage.db import add_or_take_existing
from storage.people import Person, find_person

REFRESH_AFTER = timedelta(days=7)
DEFAULT_TIMEZONE = "UTC"

TimezoneFetcher = Callable[[str], str | None]


def timezone_of(
    session: Session,
    workspace: Workspace,
    user_id: str,
    fetch: TimezoneFetcher,
    now: datetime,
) -> str:
    """Return the person's IANA timezone, from the cache or, when stale, from Slack."""
    person = find_person(session, workspace, user_id)
    if person is not None and now - person.fetched_at < REFRESH_AFTER:
        return person.timezone
    fetched = fetch(user_id)
    if fetched is None or not is_known_timezone(fetched):
        return person.timezone if person is not None else DEFAULT_TIMEZONE
    if person is None:
        person = Person(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            user_id=user_id,
            timezone=fetched,
            fetched_at=now,
        )
    person.timezone, person.fetched_at = fetched, now
    add_or_take_existing(session, person, lambda: find_person(session, workspace, user_id))
    return fetched


def forget_timezone(session: Session, workspace: Workspace, user_id: str) -> None:
    """Forget a person's remembered timezone, so the next use asks Slack again."""
    person = find_person(session, workspace, user_id)
    if person is not None:
        session.delete(person)
