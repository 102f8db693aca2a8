"""The outbox's front door: what features call to post later, once, or to call a post off."""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.common.recurrence import next_weekly
from storage import schedule
from storage.base import Workspace
from storage.schedule import ScheduledPost

KEEP_FINISHED_POSTS = timedelta(days=30)


def schedule_post(
    session: Session,
    *,
    workspace: Workspace,
    channel_id: str,
    kind: str,
    due_at: datetime,
    key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Put a post in the outbox; the same key never makes a second post.

    A post taken up again under a key that was cancelled is due anew.
    """
    added = schedule.add_unless_taken(
        session,
        {
            "enterprise_id": workspace.enterprise_id,
            "team_id": workspace.team_id,
            "channel_id": channel_id,
            "kind": kind,
            "payload": json.dumps(dict(payload or {})),
            "due_at": due_at,
            "next_attempt_at": due_at,
            "idempotency_key": key,
            "state": schedule.PENDING,
            "attempts": 0,
            "created_at": now,
        },
    )
    if added:
        return
    existing = schedule.find_by_key(session, key)
    if existing is not None and existing.state == schedule.CANCELLED:
        _revive(existing, due_at, payload)


def schedule_weekly(
    session: Session,
    *,
    workspace: Workspace,
    channel_id: str,
    kind: str,
    owner_id: int | None,
    weekday: int | None,
    minute: int,
    timezone: str,
    now: datetime,
    payload: Mapping[str, Any],
) -> None:
    """Put the next post of a weekly series in the outbox, unless the series is off."""
    if weekday is None:
        return
    due = next_weekly(now, weekday, minute, timezone)
    schedule_post(
        session,
        workspace=workspace,
        channel_id=channel_id,
        kind=kind,
        due_at=due,
        key=f"{kind}:{owner_id}:{due.isoformat()}",
        now=now,
        payload=payload,
    )


def _revive(post: ScheduledPost, due_at: datetime, payload: Mapping[str, Any] | None) -> None:
    post.state = schedule.PENDING
    post.due_at = post.next_attempt_at = due_at
    post.payload = json.dumps(dict(payload or {}))
    post.attempts = 0
    post.last_error = None


def cancel_pending(session: Session, workspace: Workspace, channel_id: str, kind: str) -> int:
    """Cancel the channel's pending posts of a kind; return how many."""
    posts = schedule.pending_posts(
        session, kind, workspace.team_id, workspace.enterprise_id, channel_id
    )
    for post in posts:
        post.state = schedule.CANCELLED
        session.add(post)
    return len(posts)


def cancel_workspace(session: Session, workspace: Workspace) -> int:
    """Cancel every pending post of a workspace (focusbot was uninstalled); return how many."""
    posts = schedule.pending_in_workspace(session, workspace.team_id, workspace.enterprise_id)
    for post in posts:
        post.state = schedule.CANCELLED
        session.add(post)
    return len(posts)


def forget_finished_posts(session: Session, now: datetime) -> None:
    """Delete sent and cancelled posts due over 30 days ago; failed ones stay to be looked at."""
    schedule.forget_finished_before(session, now - KEEP_FINISHED_POSTS)


def payload_of(post: ScheduledPost) -> dict[str, Any]:
    """Return the post's payload."""
    loaded = json.loads(post.payload or "{}")
    return loaded if isinstance(loaded, dict) else {}
