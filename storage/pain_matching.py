"""Tables and queries of what pain point matching keeps: meaning vectors and the team's labels."""

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, delete, func
from sqlmodel import Field, Session, SQLModel, col, select

from storage.base import UTCDateTime, Workspace, bound_values, of_bound_workspace
from storage.pain import PainPoint, in_workspace


class PainVector(SQLModel, table=True):
    """A pain point's meaning vector, as one model embedded it (float32, unit length)."""

    __tablename__ = "pain_vector"

    pain_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pain_point.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(max_length=200)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PainLabel(SQLModel, table=True):
    """The team's word on two pain points: the same problem, or not."""

    __tablename__ = "pain_label"
    __table_args__ = (Index("ix_pain_label_workspace", "enterprise_id", "team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)
    team_id: str = Field(max_length=32)
    pain_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("pain_point.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    other_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("pain_point.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    same: bool
    by_user: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)


def save_vector(session: Session, pain_id: int, model: str, vector: bytes) -> None:
    """Store (or replace) a pain point's vector."""
    row = session.get(PainVector, pain_id)
    if row is None:
        session.add(PainVector(pain_id=pain_id, model=model, vector=vector))
    else:
        row.model, row.vector = model, vector
        session.add(row)


def vectors_of(session: Session, ids: Sequence[int], model: str) -> dict[int, bytes]:
    """Return the vectors these pain points have from this model."""
    if not ids:
        return {}
    rows = session.exec(
        select(PainVector.pain_id, PainVector.vector).where(
            col(PainVector.pain_id).in_(list(ids)), PainVector.model == model
        )
    )
    return {int(pain_id): vector for pain_id, vector in rows}


def all_vectors(session: Session, workspace: Workspace, model: str) -> Iterator[tuple[int, bytes]]:
    """Yield (id, vector) of the workspace's pain points that this model embedded."""
    rows = session.exec(
        select(PainVector.pain_id, PainVector.vector)
        .join(PainPoint, col(PainPoint.id) == col(PainVector.pain_id))
        .where(*in_workspace(workspace), PainVector.model == model)
        .execution_options(yield_per=2000)
    )
    for pain_id, vector in rows:
        yield int(pain_id), vector


def texts_without_vector(
    session: Session, model: str, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """Return (id, text) of pain points (all workspaces) past an id without this model's vector."""
    rows = session.exec(
        select(PainPoint.id, PainPoint.text)
        .outerjoin(
            PainVector,
            (col(PainVector.pain_id) == col(PainPoint.id)) & (PainVector.model == model),
        )
        .where(col(PainVector.pain_id).is_(None), col(PainPoint.id) > after_id)
        .order_by(col(PainPoint.id))
        .limit(limit)
    )
    return [(int(pain_id or 0), text) for pain_id, text in rows]


def count_without_vector(session: Session, model: str) -> int:
    """Return how many pain points lack this model's vector."""
    return int(
        session.exec(
            select(func.count())
            .select_from(PainPoint)
            .outerjoin(
                PainVector,
                (col(PainVector.pain_id) == col(PainPoint.id)) & (PainVector.model == model),
            )
            .where(col(PainVector.pain_id).is_(None))
        ).one()
    )


def add_labels(
    session: Session,
    workspace: Workspace,
    pairs: Sequence[tuple[int, int]],
    same: bool,
    by_user: str,
    at: datetime,
) -> None:
    """Record the team's word on pairs of pain points; a newer word replaces an older one."""
    for pain_id, other_id in pairs:
        session.execute(
            delete(PainLabel).where(
                *in_workspace_of(workspace),
                col(PainLabel.pain_id) == pain_id,
                col(PainLabel.other_id) == other_id,
            )
        )
        session.add(
            PainLabel(
                enterprise_id=workspace.enterprise_id,
                team_id=workspace.team_id,
                pain_id=pain_id,
                other_id=other_id,
                same=same,
                by_user=by_user,
                at=at,
            )
        )


# Counted on every `/pain <text>`, built once.
_LABEL_COUNT = select(func.count()).select_from(PainLabel).where(*of_bound_workspace(PainLabel))


def labels_of(session: Session, workspace: Workspace) -> list[tuple[int, int, bool]]:
    """Return the workspace's labels as (pain id, other pain id, same), oldest first."""
    rows = session.exec(
        select(PainLabel.pain_id, PainLabel.other_id, PainLabel.same)
        .where(*in_workspace_of(workspace))
        .order_by(col(PainLabel.id))
    )
    return [(int(pain_id), int(other_id), bool(same)) for pain_id, other_id, same in rows]


def label_count(session: Session, workspace: Workspace) -> int:
    """Return how many labels the workspace has (a cheap way to tell they changed)."""
    return int(session.execute(_LABEL_COUNT, bound_values(workspace)).scalar_one())


def in_workspace_of(workspace: Workspace) -> tuple:
    """Return the conditions that keep a label query inside one workspace."""
    return (
        PainLabel.enterprise_id == workspace.enterprise_id,
        PainLabel.team_id == workspace.team_id,
    )
