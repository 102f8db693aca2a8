"""Word and character similarity of pain points: TF-IDF over stemmed terms and their n-grams.

Each word is lower-cased, stemmed (Snowball) and mapped to a concept when it is one of the team's
synonyms ("a100", "cuda" and "gpus" all become `gpu`), so reworded complaints share terms. The
character n-grams of those terms catch typos and word forms the stemmer misses
("Inferenservices" still shares most n-grams with "InferenceService"). Two TF-IDF indexes, one
over terms and one over n-grams, are compared by cosine and blended. Postings live in compact
arrays and a query is scored against every indexed text with a few numpy operations.
"""

import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Callable
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
# English function words not in the list above (pronouns, determiners, auxiliaries, prepositions,
# conjunctions, greetings), with and without their apostrophes: they say nothing about the
# problem, and in short texts their rarity gave them a high weight ("my refund is not here yet"
# suggested "have you sent out my card yet?").
FUNCTION_WORDS = frozenset(
    _words(
        """mine myself yours yourself hers itself ours theirs themselves ones somebody anybody
    everybody both either neither none few many much less least several enough another may
    might must shall should ought above across against along among around behind below
    beneath beside between beyond except inside near outside past since throughout till
    toward towards underneath upon via within without nor yet although though whereas unless
    whether whatever whenever wherever whichever whom whose quite rather even ever often
    sometimes perhaps maybe please hi hello thanks thank anyway didn't wasn't weren't haven't
    hasn't hadn't couldn't shouldn't wouldn't i've you're that's what's dont didnt cant wont
    isnt doesnt wasnt arent havent hasnt couldnt shouldnt wouldnt im ive youre thats whats
    theres"""
    )
)
# How bad a problem is, not what it is: every kind of complaint says these, so they only join
# unrelated ones ("GPU queue takes forever", "merges take forever").
COMPLAINT_WORDS = frozenset(
    _words(
        """forever pain painful nightmare annoying frustrating terrible awful brutal impossible
    tedious always anymore literally basically"""
    )
)

# Words an ML team uses for the same thing; each group becomes one concept term. Every group was
# measured on the tuning sets (docs/PAIN_GROUPING.md): groups that cost precision ("prod",
# "slow", "registry", "latency") are gone, and so are everyday words that joined unrelated
# complaints ("pending", "waiting", "loading", "money", "ages", "check", "dashboard", "fail",
# "flaky").
SYNONYMS: dict[str, tuple[str, ...]] = {
    "gpu": ("gpu", "gpus", "cuda", "a100", "a100s", "h100", "h100s", "v100", "accelerator"),
    "queue": ("queue", "queued", "queueing", "slurm", "scheduler"),
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
    "access": ("access", "permission", "permissions", "acl", "acls", "grant", "denied"),
    "table": ("table", "tables", "warehouse", "bigquery", "snowflake", "schema"),
    "crash": (
        "crash",
        "crashed",
        "crashes",
        "die",
        "dies",
        "killed",
        "nccl",
        "preemption",
        "preemptions",
        "preempted",
    ),
    "feature": ("feature", "features", "embedding", "embeddings"),
    "experiment": (
        "experiment",
        "experiments",
        "mlflow",
        "tracking",
        "tracked",
        "logged",
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
    "dataloader": ("dataloader", "input", "parquet", "streaming", "bucket", "s3"),
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
        "drift",
        "degraded",
        "degrade",
        "noticed",
    ),
    "ci": ("ci", "build", "tests", "test", "merge", "merges", "green"),
    "eval": ("eval", "evaluation", "evaluating", "benchmark", "metrics", "golden"),
    "cost": ("cost", "costs", "bill", "spend", "budget", "expensive", "idle"),
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
# How much the terms count against their character n-grams (measured, see docs/PAIN_GROUPING.md).
TERM_WEIGHT = 0.7
NGRAM_SIZES = (3, 4, 5)
# Up to this many texts every length is kept exact as idfs move; above it, a text's length is
# measured when it arrives and all of them again once the index has grown by a tenth.
EXACT_LENGTHS_UP_TO = 20_000


IGNORED = STOPWORDS | FUNCTION_WORDS | COMPLAINT_WORDS


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
    return [_term_of(word) for word in words if word not in IGNORED and len(word) > 1]


@lru_cache(maxsize=65536)
def _ngrams_of(term: str) -> tuple[str, ...]:
    padded = f" {term} "
    return tuple(
        padded[start : start + size]
        for size in NGRAM_SIZES
        for start in range(len(padded) - size + 1)
    )


def ngrams(text: str) -> list[str]:
    """Return the character n-grams of a text's terms, each term padded by a space either side."""
    return [gram for term in terms(text) for gram in _ngrams_of(term)]


class TfidfIndex:
    """TF-IDF vectors of many texts over one kind of feature, appended to, queried by cosine.

    Every idf moves a little with each new text, and with it every text's length. A length is
    kept as three sums per text that an idf change updates by feature, so a query measures no
    text afresh: with g = log(1 + document frequency) and L = log(1 + texts) + 1, a feature's idf
    is L - g and a text's squared length is L²·Σtf² - 2L·Σtf²g + Σtf²g². In a very large index a
    common n-gram's texts are too many to update on every query (EXACT_LENGTHS_UP_TO).
    """

    def __init__(self, features: Callable[[str], list[str]]) -> None:
        self._features = features
        self._rows = 0
        self._vocabulary: dict[str, int] = {}
        self._postings_rows: list[array] = []
        self._postings_tf: list[array] = []
        self._doc_freq = array("q")
        # Per text: Σtf², Σtf²g, Σtf²g², with each feature's g as it was when last folded in.
        self._sums = np.zeros((0, 3))
        self._folded_g = np.zeros(0)
        self._folded_rows = 0
        self._summed_all_at = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def append(self, text: str) -> None:
        """Index the next text, in the next row."""
        row = self._rows
        self._rows += 1
        ids, tfs = [], []
        for feature, count in Counter(self._features(text)).items():
            feature_id = self._vocabulary.setdefault(feature, len(self._vocabulary))
            if feature_id == len(self._postings_rows):
                self._postings_rows.append(array("i"))
                self._postings_tf.append(array("f"))
                self._doc_freq.append(0)
            self._postings_rows[feature_id].append(row)
            self._postings_tf[feature_id].append(1.0 + math.log(count))
            self._doc_freq[feature_id] += 1
            ids.append(feature_id)
            tfs.append(1.0 + math.log(count))
        self._pending.append((np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float32)))

    def scores(self, text: str, from_row: int = 0) -> np.ndarray:
        """Return the cosine similarity of the text to every indexed row from `from_row` on."""
        scores = np.zeros(self._rows - from_row)
        features = self._features(text)
        query = Counter(feature for feature in features if feature in self._vocabulary)
        if not query:
            return scores
        idf = self._idf()
        query_norm = 0.0
        for feature, count in query.items():
            feature_id = self._vocabulary[feature]
            weight = (1.0 + math.log(count)) * idf[feature_id]
            query_norm += weight * weight
            rows = np.frombuffer(self._postings_rows[feature_id], dtype=np.int32)
            tfs = np.frombuffer(self._postings_tf[feature_id], dtype=np.float32)
            if from_row:  # postings are in row order: the rows asked for are a tail
                start = int(np.searchsorted(rows, from_row))
                rows, tfs = rows[start:] - from_row, tfs[start:]
            scores[rows] += tfs * (weight * idf[feature_id])
        # Features the index has never seen still count in the query's length, at the highest idf.
        unseen = len(features) - sum(query.values())
        query_norm += unseen * (math.log(1.0 + self._rows) + 1.0) ** 2
        scores /= self._doc_norms()[from_row:] * math.sqrt(query_norm)
        return scores

    def _idf(self) -> np.ndarray:
        return math.log(1.0 + self._rows) + 1.0 - self._log_doc_freq()

    def _log_doc_freq(self) -> np.ndarray:
        return np.log1p(np.frombuffer(self._doc_freq, dtype=np.int64).astype(np.float64))

    def _doc_norms(self) -> np.ndarray:
        if self._pending:
            many = len(self._pending) > max(64, self._folded_rows // 10)
            large = self._rows > EXACT_LENGTHS_UP_TO
            if many or (large and self._rows > 1.1 * self._summed_all_at):
                self._sum_all()  # many new texts at once (a workspace loaded): one pass is cheaper
            else:
                self._fold_pending(exact=not large)
        top = math.log(1.0 + self._rows) + 1.0
        plain, once, twice = self._sums.T
        return np.sqrt(np.maximum(top * top * plain - 2 * top * once + twice, 1e-12))

    def _sum_all(self) -> None:
        g = self._log_doc_freq()
        lengths = np.fromiter((len(rows) for rows in self._postings_rows), dtype=np.int64)
        rows = np.concatenate([np.frombuffer(r, dtype=np.int32) for r in self._postings_rows])
        squares = (
            np.concatenate([np.frombuffer(t, dtype=np.float32) for t in self._postings_tf]).astype(
                np.float64
            )
            ** 2
        )
        g_of_entry = np.repeat(g, lengths)
        self._sums = np.stack(
            [
                np.bincount(rows, weights=weights, minlength=self._rows)
                for weights in (squares, squares * g_of_entry, squares * g_of_entry**2)
            ],
            axis=1,
        )
        self._folded_g, self._folded_rows, self._pending = g, self._rows, []
        self._summed_all_at = self._rows

    def _fold_pending(self, exact: bool) -> None:
        g = self._log_doc_freq()
        old_rows = self._folded_rows
        # Texts already summed: each feature whose document frequency moved moves their sums.
        moved = np.unique(np.concatenate([ids for ids, _ in self._pending]))
        moved = moved[moved < len(self._folded_g)] if exact else moved[:0]
        for feature_id in moved[g[moved] != self._folded_g[moved]]:
            rows = np.frombuffer(self._postings_rows[feature_id], dtype=np.int32)
            old = int(np.searchsorted(rows, old_rows))
            tfs = np.frombuffer(self._postings_tf[feature_id], dtype=np.float32)[:old]
            squares = tfs.astype(np.float64) ** 2
            before, after = self._folded_g[feature_id], g[feature_id]
            self._sums[rows[:old], 1] += squares * (after - before)
            self._sums[rows[:old], 2] += squares * (after * after - before * before)
        # New texts: summed with today's g.
        added = np.zeros((len(self._pending), 3))
        for position, (ids, new_tfs) in enumerate(self._pending):
            squares = new_tfs.astype(np.float64) ** 2
            added[position] = squares.sum(), (squares * g[ids]).sum(), (squares * g[ids] ** 2).sum()
        self._sums = np.concatenate([self._sums, added])
        if exact:
            self._folded_g = g
        self._folded_rows, self._pending = self._rows, []


class LexicalIndex:
    """Terms and character n-grams of many texts, in rows, scored together against a query."""

    def __init__(self) -> None:
        self._terms = TfidfIndex(terms)
        self._ngrams = TfidfIndex(ngrams)

    def append(self, text: str) -> None:
        """Index the next text, in the next row."""
        self._terms.append(text)
        self._ngrams.append(text)

    def scores(self, text: str, from_row: int = 0) -> np.ndarray:
        """Return the similarity (0 to 1) of the text to every indexed row from `from_row` on."""
        return TERM_WEIGHT * self._terms.scores(text, from_row) + (
            1 - TERM_WEIGHT
        ) * self._ngrams.scores(text, from_row)
