"""Text similarity of pain points: TF-IDF over stemmed words and ML-team synonyms, vectorised.

Each word is lower-cased, stemmed (Snowball) and mapped to a concept when it is one of the team's
synonyms ("a100", "cuda" and "gpus" all become `gpu`), so reworded complaints share terms. Pain
points are compared by the cosine of their TF-IDF vectors. The index keeps postings in compact
arrays and scores a query against every indexed text with a few numpy operations, so a lookup
among 100,000 pain points takes milliseconds.
"""

import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+(?:[+'][a-z0-9]+)*")
_STEMMER = snowballstemmer.stemmer("english")
_STEM_LOCK = threading.Lock()


def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(
    _words(
        """a about after again all also always am an and any are as at be because been before being
    but by can cannot could did do does doing don done down during each every for from get
    gets getting got had has have having he her here him his how i if in into is it its just
    me more most my no nobody not now of off on once one only or other our out over own same
    so some still such than that the their them then there these they this those through to
    too under until up us very was we were what when where which while who why will with
    would you your again keep keeps need needs want like really way make makes made takes
    take took thing things every everyone everything someone anyone something nothing half
    whole new time times day days week weeks month months hour hours year years minute
    minutes last first two three can't isn't aren't don't doesn't won't there's it's i'm
    never again hard find ml team teams job jobs train training trained model models data
    work working"""
    )
)

# Words an ML team uses for the same thing; each group becomes one concept term.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "gpu": ("gpu", "gpus", "cuda", "a100", "a100s", "h100", "h100s", "v100", "accelerator"),
    "queue": ("queue", "queued", "queueing", "pending", "slurm", "scheduler", "waiting", "wait"),
    "deploy": (
        "deploy",
        "deploying",
        "deployment",
        "rollout",
        "release",
        "releasing",
        "ship",
        "shipping",
        "canary",
    ),
    "production": ("prod", "production", "serving", "serve", "online"),
    "access": ("access", "permission", "permissions", "acl", "acls", "grant", "denied"),
    "table": ("table", "tables", "warehouse", "bigquery", "snowflake", "schema"),
    "crash": (
        "crash",
        "crashed",
        "crashes",
        "die",
        "dies",
        "killed",
        "flaky",
        "fails",
        "fail",
        "failure",
        "nccl",
        "preemption",
        "preemptions",
        "preempted",
    ),
    "slow": ("slow", "forever", "ages", "sluggish", "bottleneck"),
    "feature": ("feature", "features", "embedding", "embeddings"),
    "experiment": (
        "experiment",
        "experiments",
        "mlflow",
        "tracking",
        "tracked",
        "logged",
        "hyperparameters",
        "compare",
        "comparing",
    ),
    "label": (
        "label",
        "labels",
        "labeling",
        "labelling",
        "labeled",
        "annotation",
        "annotator",
        "annotators",
    ),
    "dataloader": ("dataloader", "loading", "input", "parquet", "streaming", "bucket", "s3"),
    "environment": (
        "environment",
        "environments",
        "conda",
        "pip",
        "dependency",
        "dependencies",
        "docker",
        "image",
        "package",
        "packages",
        "kernel",
    ),
    "monitoring": (
        "monitoring",
        "monitor",
        "alert",
        "alerts",
        "dashboard",
        "dashboards",
        "drift",
        "degraded",
        "degrade",
        "noticed",
    ),
    "ci": ("ci", "build", "tests", "test", "checks", "merge", "merges", "green"),
    "eval": ("eval", "evaluation", "evaluating", "benchmark", "metrics", "golden"),
    "cost": ("cost", "costs", "bill", "spend", "money", "budget", "expensive", "idle"),
    "onboarding": (
        "onboarding",
        "newcomers",
        "newcomer",
        "joiner",
        "joiners",
        "hires",
        "hire",
        "setup",
        "laptop",
        "getting-started",
    ),
    "docs": (
        "docs",
        "documentation",
        "readme",
        "wiki",
        "written",
        "outdated",
        "stale",
        "guide",
        "knowledge",
    ),
    "registry": ("registry", "artifact", "artifacts", "weights", "live", "checkpoint"),
    "latency": ("latency", "p99", "timeout", "timeouts", "slo", "sla", "realtime"),
    "meeting": ("meeting", "meetings", "sync", "syncs", "standup", "standups", "calendar"),
    "storage": ("storage", "disk", "quota", "space", "nfs", "scratch", "filesystem", "volume"),
    "secret": (
        "secret",
        "secrets",
        "credential",
        "credentials",
        "password",
        "token",
        "keys",
        "key",
    ),
    "orchestration": (
        "airflow",
        "dag",
        "dags",
        "cron",
        "orchestration",
        "workflow",
        "backfill",
        "backfilling",
        "retrain",
        "retraining",
    ),
    "reproduce": (
        "reproduce",
        "reproducible",
        "reproducing",
        "reproducibility",
        "rerun",
        "rerunning",
        "seed",
        "seeds",
    ),
    "review": ("review", "reviews", "reviewer", "reviewers", "pr", "prs"),
    "hyperparameter": (
        "hyperparameter",
        "hyperparameters",
        "sweep",
        "sweeps",
        "tuning",
        "optuna",
        "grid",
        "search",
    ),
    "llm": ("llm", "openai", "gpt", "claude"),
    "ratelimit": ("429", "429s", "throttled", "throttling", "rate"),
}


def _stem(word: str) -> str:
    with _STEM_LOCK:  # the Snowball stemmer keeps state between calls
        return str(_STEMMER.stemWord(word))


_CONCEPTS: dict[str, str] = {
    _stem(word): concept for concept, words in SYNONYMS.items() for word in words
}


@lru_cache(maxsize=65536)
def _term_of(word: str) -> str:
    stem = _stem(word)
    return _CONCEPTS.get(stem, stem)


def terms(text: str) -> list[str]:
    """Return the terms a text is compared by: stemmed words and concepts, stopwords left out."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    return [_term_of(word) for word in words if word not in STOPWORDS and len(word) > 1]


@dataclass(frozen=True)
class Match:
    """An indexed text close to a query, with its cosine similarity (0 to 1)."""

    key: int
    score: float


class SimilarityIndex:
    """TF-IDF vectors of many texts, appended to as they come, queried by cosine similarity."""

    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._keys = array("q")
        self._known: set[int] = set()
        self._newest = 0
        self._postings_rows: list[array] = []
        self._postings_tf: list[array] = []
        self._doc_freq = array("q")
        self._norms: np.ndarray = np.zeros(0)
        self._norms_valid = True
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: int) -> bool:
        return key in self._known

    @property
    def newest_key(self) -> int:
        """Return the highest key indexed (0 when empty)."""
        return self._newest

    def add(self, key: int, text: str) -> None:
        """Index a text under a key (a pain point's id); a key already indexed is kept as it was."""
        if key in self._known:
            return
        row = len(self._keys)
        self._keys.append(key)
        self._known.add(key)
        self._newest = max(self._newest, key)
        for term, count in Counter(terms(text)).items():
            term_id = self._vocabulary.setdefault(term, len(self._vocabulary))
            if term_id == len(self._postings_rows):
                self._postings_rows.append(array("q"))
                self._postings_tf.append(array("f"))
                self._doc_freq.append(0)
            self._postings_rows[term_id].append(row)
            self._postings_tf[term_id].append(1.0 + math.log(count))
            self._doc_freq[term_id] += 1
        self._norms_valid = False

    def nearest(self, text: str, limit: int, min_score: float) -> list[Match]:
        """Return up to `limit` indexed texts most like this one, best first, from `min_score`."""
        all_terms = terms(text)
        query = Counter(term for term in all_terms if term in self._vocabulary)
        if not query or not self._keys:
            return []
        idf = self._idf()
        scores = np.zeros(len(self._keys))
        query_norm = 0.0
        for term, count in query.items():
            term_id = self._vocabulary[term]
            weight = (1.0 + math.log(count)) * idf[term_id]
            query_norm += weight * weight
            rows = np.frombuffer(self._postings_rows[term_id], dtype=np.int64)
            tfs = np.frombuffer(self._postings_tf[term_id], dtype=np.float32)
            scores[rows] += tfs * (weight * idf[term_id])
        # Terms the index has never seen still count in the query's length, at the highest idf.
        unseen = len(all_terms) - sum(query.values())
        query_norm += unseen * (math.log(1.0 + len(self._keys)) + 1.0) ** 2
        scores /= self._doc_norms(idf) * math.sqrt(query_norm)
        return self._best(scores, limit, min_score)

    def _best(self, scores: np.ndarray, limit: int, min_score: float) -> list[Match]:
        candidates = np.flatnonzero(scores >= min_score)
        if len(candidates) > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
        ranked = sorted(candidates, key=lambda row: (-scores[row], row))
        return [Match(int(self._keys[row]), round(float(scores[row]), 4)) for row in ranked]

    def _idf(self) -> np.ndarray:
        doc_freq = np.frombuffer(self._doc_freq, dtype=np.int64).astype(np.float64)
        return np.log((1.0 + len(self._keys)) / (1.0 + doc_freq)) + 1.0

    def _doc_norms(self, idf: np.ndarray) -> np.ndarray:
        if self._norms_valid and len(self._norms) == len(self._keys):
            return self._norms
        squares = np.zeros(len(self._keys))
        for term_id, rows in enumerate(self._postings_rows):
            tfs = np.frombuffer(self._postings_tf[term_id], dtype=np.float32)
            squares[np.frombuffer(rows, dtype=np.int64)] += (tfs * idf[term_id]) ** 2
        self._norms = np.sqrt(np.maximum(squares, 1e-12))
        self._norms_valid = True
        return self._norms


NEIGHBOURS = 10
MIN_MATCH = 0.05
# Measured on tests/data/pain_points.csv, see docs/PAIN_GROUPING.md.
GROUP_THRESHOLD = 0.2


def best_group(
    matches: Sequence[Match], group_of: Mapping[int, int], size_of: Mapping[int, int]
) -> int | None:
    """Return the group a text belongs to, given its nearest texts; None when it is new.

    A group's score is the text's average similarity to its members, counting at most
    NEIGHBOURS members so that a large group is not diluted by members far down the list.
    """
    totals: dict[int, float] = {}
    for match in matches:
        group = group_of[match.key]
        totals[group] = totals.get(group, 0.0) + match.score
    scores = {group: total / min(size_of[group], NEIGHBOURS) for group, total in totals.items()}
    best = max(scores, key=lambda group: (scores[group], -group), default=None)
    return best if best is not None and scores[best] >= GROUP_THRESHOLD else None


def group_online(texts: Sequence[str]) -> list[int]:
    """Group texts the way pain points are grouped as they arrive; return each one's group."""
    index = SimilarityIndex()
    groups: list[int] = []
    sizes: dict[int, int] = {}
    for position, text in enumerate(texts):
        matches = index.nearest(text, NEIGHBOURS, MIN_MATCH)
        group = best_group(matches, dict(enumerate(groups)), sizes)
        group = position if group is None else group
        groups.append(group)
        sizes[group] = sizes.get(group, 0) + 1
        index.add(position, text)
    return groups


@dataclass(frozen=True)
class PairScores:
    """Pairwise precision and recall of a grouping against true labels."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Return the harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def pair_scores(truth: Sequence[str], predicted: Sequence[int]) -> PairScores:
    """Score a grouping against the true labels by pairs of texts (precision and recall)."""
    true_pairs = _pairs(truth)
    predicted_pairs = _pairs(predicted)
    both = len(true_pairs & predicted_pairs)
    precision = both / len(predicted_pairs) if predicted_pairs else 1.0
    recall = both / len(true_pairs) if true_pairs else 1.0
    return PairScores(precision, recall)


def _pairs(labels: Iterable[object]) -> set[tuple[int, int]]:
    members: dict[object, list[int]] = {}
    for position, label in enumerate(labels):
        members.setdefault(label, []).append(position)
    return {
        (first, second)
        for group in members.values()
        for index, first in enumerate(group)
        for second in group[index + 1 :]
    }
