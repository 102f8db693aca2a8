"""Leads: while a workspace has none, anyone may name the first; afterwards only leads decide."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from storage.base import Workspace
from storage.leads import Lead, leads_of


class NotALead(Exception):
    """The person may not do this: only the workspace's leads may."""

    def __init__(self, leads: Sequence[str]) -> None:
        self.leads = tuple(leads)
        super().__init__("Only the workspace's leads may do that.")


def lead_ids(session: Session, workspace: Workspace) -> list[str]:
    """Return the user ids of the workspace's leads."""
    return [lead.user_id for lead in leads_of(session, workspace)]


def is_lead(session: Session, workspace: Workspace, user_id: str) -> bool:
    """Tell whether the person is one of the workspace's leads."""
    return user_id in lead_ids(session, workspace)


def may_decide(session: Session, workspace: Workspace, user_id: str) -> bool:
    """Tell whether the person may change lead-guarded things: any lead, or anyone while none."""
    leads = lead_ids(session, workspace)
    return not leads or user_id in leads


def require_lead(session: Session, workspace: Workspace, user_id: str) -> None:
    """Refuse (NotALead) unless the person may change lead-guarded things."""
    if not may_decide(session, workspace, user_id):
        raise NotALead(lead_ids(session, workspace))


def add_leads(
    session: Session, workspace: Workspace, actor: str, user_ids: Sequence[str], now: datetime
) -> list[str]:
    """Make these people leads; return the ones who were not leads yet."""
    require_lead(session, workspace, actor)
    current = set(lead_ids(session, workspace))
    added = [user_id for user_id in dict.fromkeys(user_ids) if user_id not in current]
    for user_id in added:
        session.add(
            Lead(
                enterprise_id=workspace.enterprise_id,
                team_id=workspace.team_id,
                user_id=user_id,
                added_by=actor,
                added_at=now,
            )
        )
    return added


def remove_lead(session: Session, workspace: Workspace, actor: str, user_id: str) -> bool:
    """Stop someone being a lead; return False when they were not one."""
    require_lead(session, workspace, actor)
    for lead in leads_of(session, workspace):
        if lead.user_id == user_id:
            session.delete(lead)
            return True
    return False
