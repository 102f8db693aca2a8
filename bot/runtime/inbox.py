"""Take each Slack request once: Slack retries events, and a request may be replayed."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from storage.inbox import forget, forget_before, record_once

REMEMBER_FOR = timedelta(days=1)


def request_key(body: dict[str, Any]) -> str | None:
    """Return what identifies a Slack request across retries, if anything does."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


class RepeatedRequest(Exception):
    """The request was taken before: nothing is done, and Slack gets an empty acknowledgement."""


def first_sighting(connection: Connection, key: str, now: datetime) -> bool:
    """Record the request; False when it was taken before."""
    return record_once(connection, key, now)


def forget_request(session: Session, key: str) -> None:
    """Forget a request whose work failed, so that its retry counts as new."""
    forget(session, key)


def forget_old_requests(session: Session, now: datetime) -> None:
    """Forget requests older than any retry Slack would send."""
    forget_before(session, now - REMEMBER_FOR)
