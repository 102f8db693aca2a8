"""Find the pain points a new one looks like; keep each workspace's index up to date."""

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.pain.demand import synced_ledger
from bot.pain.embedding import EmbeddingUnavailable, Matcher
from bot.pain.matching import (
    NEIGHBOURS,
    RULES,
    Blend,
    Label,
    Match,
    PainIndex,
    apply_labels,
    to_join,
    to_show,
)
from storage import pain as store
from storage import pain_matching as vectors
from storage.base import Workspace
from storage.db import engine_of, session_scope
from storage.pain import PainPoint, PainTheme

_INDEXES: "weakref.WeakKeyDictionary[Engine, dict[Workspace, PainIndex]]" = (
    weakref.WeakKeyDictionary()
)
_INDEXES_LOCK = threading.Lock()
# Ids are handed out before commit, so a transaction may commit a lower id after a higher one was
# indexed; looking back this far picks such late commits up.
_LATE_COMMIT_WINDOW = 200
_WARM_CHUNK = 2000
_WARMING: "weakref.WeakKeyDictionary[Engine, dict[Workspace, threading.Event]]" = (
    weakref.WeakKeyDictionary()
)
# Pain points indexed without a vector get one once `focusbot pain reindex` stored it.
_VECTOR_RECHECK_SECONDS = 30.0
_VECTOR_RECHECK_BATCH = 2000
# More pain points than this logged between a search and its write means the index was still
# loading at start (it matches against what it has then); a burst logs far fewer.
_CATCH_UP_AT_MOST = 1000


def _index_of(session: Session) -> dict[Workspace, PainIndex]:
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(engine_of(session), {})


def _index_for(
    indexes: dict[Workspace, PainIndex], workspace: Workspace, matcher: Matcher
) -> PainIndex:
    with _INDEXES_LOCK:
        index = indexes.get(workspace)
        if index is None or (index.blend, index.model) != (matcher.active_blend, matcher.model):
            index = indexes[workspace] = PainIndex(matcher.active_blend, matcher.model)
        return index


def synced_index(session: Session, workspace: Workspace, matcher: Matcher) -> PainIndex:
    """Return the workspace's index, brought up to date with committed pain points."""
    indexes = _index_of(session)
    with _INDEXES_LOCK:
        warming = _WARMING.get(engine_of(session), {}).get(workspace)
    # While the index is warmed at start, a /pain matches against what is loaded so far rather
    # than wait: its answer is due within Slack's three seconds.
    if warming is not None and not warming.is_set():
        loading = indexes.get(workspace)
        if loading is not None:
            return loading
    index = _index_for(indexes, workspace, matcher)
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


def warm_up(engine: Engine, matcher: Matcher) -> None:
    """Load every workspace's index and demand before the first /pain needs them (at start)."""
    with session_scope(engine) as session:
        workspaces = store.workspaces_with_points(session)
    for workspace in workspaces:
        _warm_index(engine, workspace, matcher)
        with session_scope(engine) as session:
            synced_index(session, workspace, matcher)  # the labels, and what came in meanwhile
            synced_ledger(session, workspace)


def _warm_index(engine: Engine, workspace: Workspace, matcher: Matcher) -> None:
    """Load the index a chunk at a time; a /pain meanwhile matches against what is loaded."""
    warming = threading.Event()
    with _INDEXES_LOCK:
        indexes = _INDEXES.setdefault(engine, {})
        indexes[workspace] = index = PainIndex(matcher.active_blend, matcher.model)
        _WARMING.setdefault(engine, {})[workspace] = warming
    loaded = False
    try:
        after = 0
        while rows := _chunk_after(engine, workspace, index.model, after):
            with index.lock:
                for point_id, text, vector in rows:
                    index.add(point_id, text, vector)
            after = rows[-1][0]
        loaded = True
    finally:
        with _INDEXES_LOCK:
            if not loaded and indexes.get(workspace) is index:
                del indexes[workspace]  # half loaded: the next /pain loads it afresh
            del _WARMING[engine][workspace]
        warming.set()


def _chunk_after(
    engine: Engine, workspace: Workspace, model: str | None, after: int
) -> list[tuple[int, str, np.ndarray | None]]:
    with session_scope(engine) as session:
        rows = store.texts_after(session, workspace, after, _WARM_CHUNK)
        found = (
            vectors.vectors_of(session, [point_id for point_id, _ in rows], model) if model else {}
        )
    return [(point_id, text, _decoded(found.get(point_id))) for point_id, text in rows]


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
class Search:
    """A text scored against a workspace's index, and how far the index reached then."""

    text: str
    vector: np.ndarray | None
    index: PainIndex
    rows: int
    newest: int
    matches: list[Match]
    labels: list[Label]


@dataclass(frozen=True)
class Found:
    """The pain points a text looks like, the theme it belongs to, and the search behind them."""

    similar: list[Similar]
    group: PainTheme | None
    search: Search
    group_by: int | None = None  # the pain point whose theme is joined


def search(index: PainIndex, text: str, vector: np.ndarray | None) -> Search:
    """Score a text against every pain point of an index (no database needed)."""
    with index.lock:
        return Search(
            text,
            vector,
            index,
            len(index),
            index.newest_key,
            index.nearest(text, vector),
            index.labels,
        )


def found_by(session: Session, done: Search) -> Found:
    """Return the themes a search found, with the pain points to show and the theme to join."""
    near = {match.key for match in done.matches}
    labelled = {label.other for label in done.labels if label.point in near}
    labelled |= {label.point for label in done.labels if label.other in near}
    theme_of: Mapping[int, int] = store.theme_ids_of_points(session, near | labelled)
    ranked = apply_labels(done.matches, theme_of, done.labels)
    rules = RULES[done.index.blend if done.vector is not None else Blend.WORDS]
    shown, joined = to_show(ranked, rules), to_join(ranked, rules)
    wanted = [found.point for found in shown] + ([joined.point] if joined is not None else [])
    points = store.points_with_themes(session, wanted)
    return Found(
        [Similar(*points[found.point], found.score) for found in shown],
        points[joined.point][1] if joined is not None else None,
        done,
        joined.point if joined is not None else None,
    )


def joined_theme(session: Session, found: Found) -> PainTheme | None:
    """Return the theme the text joins as the database holds it now, if it joins one."""
    if found.group_by is None:
        return None
    return store.points_with_themes(session, [found.group_by])[found.group_by][1]


def caught_up(session: Session, workspace: Workspace, found: Found) -> Found:
    """Return what a text matches, counting pain points logged since its search.

    Called with the workspace locked: those pain points (ids above the search's newest) are few,
    and only they are scored.
    """
    done = found.search
    newer = store.texts_after(session, workspace, done.newest, _CATCH_UP_AT_MOST)
    if not newer or len(newer) == _CATCH_UP_AT_MOST:
        return found  # none, or the index was still loading at start: what it had must do
    index = done.index
    ids = [point_id for point_id, _ in newer]
    found_vectors = vectors.vectors_of(session, ids, index.model) if index.model else {}
    with index.lock:
        for point_id, text in newer:
            index.add(point_id, text, _decoded(found_vectors.get(point_id)))
        more = index.nearest(done.text, done.vector, from_row=done.rows)
        rows, newest = len(index), index.newest_key
    if not more:
        return found
    matches = sorted([*done.matches, *more], key=lambda match: (-match.score, match.key))
    return found_by(session, replace(done, rows=rows, newest=newest, matches=matches[:NEIGHBOURS]))


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
