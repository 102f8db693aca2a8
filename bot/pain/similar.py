"""Find the pain points a new one looks like; keep each workspace's index up to date."""

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.pain.embedding import EmbeddingUnavailable, Matcher
from bot.pain.matching import RULES, Blend, Label, PainIndex, apply_labels, to_join, to_show
from storage import pain as store
from storage import pain_matching as vectors
from storage.base import Workspace
from storage.db import session_scope
from storage.pain import PainPoint, PainTheme

_INDEXES: "weakref.WeakKeyDictionary[Engine, dict[Workspace, PainIndex]]" = (
    weakref.WeakKeyDictionary()
)
_INDEXES_LOCK = threading.Lock()
# Ids are handed out before commit, so a transaction may commit a lower id after a higher one was
# indexed; looking back this far picks such late commits up.
_LATE_COMMIT_WINDOW = 200
# Pain points indexed without a vector get one once `focusbot pain reindex` stored it.
_VECTOR_RECHECK_SECONDS = 30.0
_VECTOR_RECHECK_BATCH = 2000


def _index_of(session: Session) -> dict[Workspace, PainIndex]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(engine, {})


def synced_index(session: Session, workspace: Workspace, matcher: Matcher) -> PainIndex:
    """Return the workspace's index, brought up to date with committed pain points."""
    indexes = _index_of(session)
    with _INDEXES_LOCK:
        index = indexes.get(workspace)
        if index is None or (index.blend, index.model) != (matcher.active_blend, matcher.model):
            index = indexes[workspace] = PainIndex(matcher.active_blend, matcher.model)
    with index.lock:
        if not len(index):
            rows: Iterable[tuple[int, str]] = store.all_texts(session, workspace)
            found = (
                dict(vectors.all_vectors(session, workspace, index.model)) if index.model else {}
            )
        else:
            newest = index.newest_key
            recent = store.point_ids_after(session, workspace, newest - _LATE_COMMIT_WINDOW)
            if newest not in recent:
                # The database no longer holds what was indexed (it was replaced): start afresh.
                with _INDEXES_LOCK:
                    del indexes[workspace]
                return synced_index(session, workspace, matcher)
            unseen = [point_id for point_id in recent if point_id not in index]
            rows = store.texts_of(session, unseen)
            found = vectors.vectors_of(session, unseen, index.model) if index.model else {}
        for point_id, text in rows:
            index.add(point_id, text, _decoded(found.get(point_id)))
        _fill_vectors(session, index)
        count = vectors.label_count(session, workspace)
        if count != index.label_count:
            index.labels = [Label(*row) for row in vectors.labels_of(session, workspace)]
            index.label_count = count
    return index


def _fill_vectors(session: Session, index: PainIndex) -> None:
    if index.model is None or time.monotonic() - index.vectors_checked_at < _VECTOR_RECHECK_SECONDS:
        return
    index.vectors_checked_at = time.monotonic()
    missing = index.keys_without_vector()[:_VECTOR_RECHECK_BATCH]
    for point_id, vector in vectors.vectors_of(session, missing, index.model).items():
        index.set_vector(point_id, np.frombuffer(vector, dtype=np.float32))


def _decoded(vector: bytes | None) -> np.ndarray | None:
    return None if vector is None else np.frombuffer(vector, dtype=np.float32)


@dataclass(frozen=True)
class Similar:
    """An existing pain point that looks like the same complaint."""

    point: PainPoint
    theme: PainTheme
    score: float


@dataclass(frozen=True)
class Found:
    """The pain points a text looks like, the theme it belongs to, and its meaning vector."""

    similar: list[Similar]
    group: PainTheme | None
    vector: np.ndarray | None


def similar_points(
    session: Session,
    workspace: Workspace,
    text: str,
    matcher: Matcher,
    vector: np.ndarray | None = None,
) -> Found:
    """Return the closest pain points (one per theme) and the theme the text belongs to, if any."""
    index = synced_index(session, workspace, matcher)
    with index.lock:
        matches, labels = index.nearest(text, vector), index.labels
    near = {match.key for match in matches}
    labelled = {label.other for label in labels if label.point in near}
    labelled |= {label.point for label in labels if label.other in near}
    points = store.points_by_id(session, near | labelled)
    theme_of: Mapping[int, int] = {point_id: point.theme_id for point_id, point in points.items()}
    ranked = apply_labels(matches, theme_of, labels)
    rules = RULES[index.blend if vector is not None else Blend.WORDS]
    shown, joined = to_show(ranked, rules), to_join(ranked, rules)
    themes = store.themes_by_id(session, [found.theme for found in ranked])
    return Found(
        [Similar(points[found.point], themes[found.theme], found.score) for found in shown],
        themes[joined.theme] if joined is not None else None,
        vector,
    )


REINDEX_BATCH = 64


def reindex(
    engine: Engine, matcher: Matcher, progress: Callable[[int, int], None] | None = None
) -> int:
    """Embed every pain point that lacks the configured model's vector; return how many were.

    Safe while focusbot runs: each batch commits on its own, and running pain point indexes pick
    the new vectors up within half a minute.
    """
    model = matcher.model
    if model is None:
        raise EmbeddingUnavailable(
            "No model is configured: set PAIN_MODEL_PATH or PAIN_EMBEDDINGS_URL."
        )
    assert matcher.embedder is not None
    with session_scope(engine) as session:
        total = vectors.count_without_vector(session, model)
    done, after_id = 0, 0
    while True:
        with session_scope(engine) as session:
            rows = vectors.texts_without_vector(session, model, after_id, REINDEX_BATCH)
            if not rows:
                return done
            embedded = matcher.embedder.embed([text for _, text in rows])
            for (point_id, _), vector in zip(rows, embedded, strict=True):
                vectors.save_vector(session, point_id, model, vector.tobytes())
        done, after_id = done + len(rows), rows[-1][0]
        if progress is not None:
            progress(done, total)
