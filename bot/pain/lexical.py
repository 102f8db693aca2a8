"""Word and character similarity of pain points: TF-IDF over stemmed terms and their n-grams.

Each word is lower-cased, stemmed (Snowball) and mapped to a concept when it is one of the team's
synonyms ("a100", "cuda" and "gpus" all become `gpu`), so reworded complaints share terms. The
character n-grams of those terms catch typos and word forms the stemmer misses
("Inferenservices" still shares most n-grams with "InferenceService"). Two TF-IDF indexes, one
over terms and one over n-grams, are compared by cosine and blended. Postings live in compact
arrays; a query adds up its rare features for every indexed text and its common ones only for the
texts still within reach of the best (the same scores, a fraction of the work: `LexicalIndex.best`).
"""

import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

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


# A query adds every row's share of the rare features; a row then holding little of them is left
# out once the best rows' sums and what the rest could still add leave it behind
# (`LexicalIndex.best`): first when it could add at most this much, then a third less each time.
FIRST_REACH = 0.2
REACH_SHRINK = 0.7
# Rows are scored one by one once at most this share of them are still in reach.
FEW_ROWS = 1 / 32
PRUNE_EVERY = 8
# A feature in at least this share of the texts keeps its counts in a column, one per text, so that
# a few rows' counts are looked up directly (at most 255 of it in a text).
COLUMN_FROM = 1 / 8
_TF_OF_COUNT = np.array([0.0] + [1.0 + math.log(count) for count in range(1, 256)], np.float32)


class Posting(NamedTuple):
    """The texts holding one of a query's features, and what it adds to their dot products."""

    feature: int
    rows: np.ndarray
    tfs: np.ndarray
    weight: float  # added per unit of a text's tf
    share: float  # the feature's part of the query's unit vector


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
        # Σtf², Σtf²g, Σtf²g² of each text (a row each, with room to grow), with each feature's g
        # as it was when last folded in.
        self._sums = np.zeros((3, 0))
        self._folded_g = np.zeros(0)
        self._folded_rows = 0
        self._summed_all_at = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._lengths: np.ndarray | None = None
        self._columns: dict[int, np.ndarray] = {}
        self._without_column: set[int] = set()

    def __len__(self) -> int:
        return self._rows

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
            if feature_id in self._columns:
                self._set_count(feature_id, row, count)
            ids.append(feature_id)
            tfs.append(1.0 + math.log(count))
        self._pending.append((np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float32)))
        self._lengths = None

    def query(self, text: str) -> tuple[list[Posting], float]:
        """Return the postings of a text's known features, shortest first, and the text's length."""
        features = self._features(text)
        query = Counter(feature for feature in features if feature in self._vocabulary)
        if not query:
            return [], 1.0
        idf = self._idf()
        weighted = []
        query_norm = 0.0
        for feature, count in query.items():
            feature_id = self._vocabulary[feature]
            weight = (1.0 + math.log(count)) * idf[feature_id]
            query_norm += weight * weight
            weighted.append((feature_id, weight))
        # Features the index has never seen still count in the query's length, at the highest idf.
        unseen = len(features) - sum(query.values())
        query_norm += unseen * (math.log(1.0 + self._rows) + 1.0) ** 2
        length = math.sqrt(query_norm)
        postings = [
            Posting(
                feature_id,
                np.frombuffer(self._postings_rows[feature_id], dtype=np.int32),
                np.frombuffer(self._postings_tf[feature_id], dtype=np.float32),
                weight * idf[feature_id],
                weight / length,
            )
            for feature_id, weight in weighted
        ]
        # One order for every way of scoring, so that each adds up a row's parts alike.
        postings.sort(key=lambda posting: len(posting.rows))
        return postings, length

    def scores(self, text: str, from_row: int = 0) -> np.ndarray:
        """Return the cosine similarity of the text to every indexed row from `from_row` on."""
        scores = np.zeros(self._rows - from_row)
        postings, length = self.query(text)
        if not postings:
            return scores
        for posting in postings:
            rows, tfs = posting.rows, posting.tfs
            if from_row:  # postings are in row order: the rows asked for are a tail
                start = int(np.searchsorted(rows, from_row))
                rows, tfs = rows[start:] - from_row, tfs[start:]
            scores[rows] += tfs * posting.weight
        scores /= self.lengths()[from_row:] * length
        return scores

    def tfs_at(self, posting: Posting, rows: np.ndarray) -> np.ndarray:
        """Return the tf of a posting's feature in each of these (ascending) rows, 0 if absent."""
        column = self._column(posting)
        if column is not None:
            return _TF_OF_COUNT[column[rows]]
        at = np.searchsorted(posting.rows, rows)
        held = posting.rows.take(at, mode="clip") == rows
        return np.where(held, posting.tfs.take(at, mode="clip"), 0.0)

    def _column(self, posting: Posting) -> np.ndarray | None:
        feature_id = posting.feature
        column = self._columns.get(feature_id)
        if column is None:
            common = len(posting.rows) >= COLUMN_FROM * self._rows
            if not common or feature_id in self._without_column:
                return None
            counts = np.rint(np.exp(posting.tfs.astype(np.float64) - 1.0))
            if counts.max() > 255:
                self._without_column.add(feature_id)
                return None
            column = self._columns[feature_id] = np.zeros(self._rows + 4096, dtype=np.uint8)
            column[posting.rows] = counts
        elif len(column) < self._rows:
            column = self._grown(feature_id)
        return column

    def _set_count(self, feature_id: int, row: int, count: int) -> None:
        if count > 255:
            del self._columns[feature_id]
            self._without_column.add(feature_id)
            return
        column = self._columns[feature_id]
        if row >= len(column):
            column = self._grown(feature_id)
        column[row] = count

    def _grown(self, feature_id: int) -> np.ndarray:
        column = self._columns[feature_id]
        grown = np.zeros(self._rows + max(4096, self._rows // 8), dtype=np.uint8)
        grown[: len(column)] = column
        self._columns[feature_id] = grown
        return grown

    def lengths(self) -> np.ndarray:
        """Return every text's TF-IDF length, never below the true one (idfs only fall)."""
        if self._lengths is None:
            self._lengths = self._doc_norms()
        return self._lengths

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
        plain, once, twice = self._sums[:, : self._rows]
        lengths = plain * (top * top)
        lengths -= once * (2 * top)
        lengths += twice
        np.maximum(lengths, 1e-12, out=lengths)
        return np.sqrt(lengths, out=lengths)

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
        self._sums = np.zeros((3, self._rows + max(64, self._rows // 8)))
        for sums, weights in zip(
            self._sums, (squares, squares * g_of_entry, squares * g_of_entry**2), strict=True
        ):
            sums[: self._rows] = np.bincount(rows, weights=weights, minlength=self._rows)
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
            self._sums[1, rows[:old]] += squares * (after - before)
            self._sums[2, rows[:old]] += squares * (after * after - before * before)
        # New texts: summed with today's g.
        if self._rows > self._sums.shape[1]:
            grown = np.zeros((3, self._rows + max(64, self._rows // 8)))
            grown[:, :old_rows] = self._sums[:, :old_rows]
            self._sums = grown
        for row, (ids, new_tfs) in enumerate(self._pending, start=old_rows):
            squares = new_tfs.astype(np.float64) ** 2
            self._sums[:, row] = (
                squares.sum(),
                (squares * g[ids]).sum(),
                (squares * g[ids] ** 2).sum(),
            )
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

    def best(self, text: str, limit: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Return rows and their similarity, among them every row of the `limit` best from `floor`.

        A row left out scores below `floor` or below `limit` others. Over the features not added
        yet a row's cosine is at most the length of their part of the unit query (Cauchy-Schwarz;
        a row's unit vector is at most 1 long), so once the terms and the rare n-grams are added
        for every row, the rows out of reach are dropped and the rest scored one by one.
        """
        parts = (self._terms, self._ngrams)
        queried = [index.query(text) for index in parts]
        search = _Search(len(self._terms), limit, floor, parts, queried)
        return search.run() if search.features else (np.zeros(0, dtype=np.intp), np.zeros(0))


class _Search:
    """One query's scores over both indexes, exact for the rows still in reach."""

    def __init__(
        self,
        rows: int,
        limit: int,
        floor: float,
        parts: tuple[TfidfIndex, TfidfIndex],
        queried: list[tuple[list[Posting], float]],
    ) -> None:
        self.limit, self.floor, self.parts = limit, floor, parts
        # Terms first (a few features that weigh most), then the n-grams, rarest first.
        self.features = [
            (part, posting) for part, (postings, _) in enumerate(queried) for posting in postings
        ]
        self.blend = (TERM_WEIGHT, 1 - TERM_WEIGHT)
        self.lengths = [
            (index.lengths(), length) for index, (_, length) in zip(parts, queried, strict=True)
        ]
        self.left = [sum(posting.share**2 for posting in postings) for postings, _ in queried]
        self.sums = [np.zeros(rows), np.zeros(rows)]
        self.rows = np.arange(0)  # the rows in reach once every row's rare features are added

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Add up the rare features for all rows, then the rest for the rows still in reach."""
        rows, position, reach = len(self.sums[0]), 0, FIRST_REACH
        scale = [
            np.divide(weight / length, lengths)
            for weight, (lengths, length) in zip(self.blend, self.lengths, strict=True)
        ]
        while True:
            while position < len(self.features) and self._reach() > reach:
                part, posting = self.features[position]
                self.sums[part][posting.rows] += posting.tfs * posting.weight
                self.left[part] -= posting.share**2
                position += 1
            lower = self.sums[0] * scale[0] + self.sums[1] * scale[1]
            kept = np.flatnonzero(lower >= self._least(lower) - self._reach())
            if position == len(self.features) or len(kept) <= FEW_ROWS * rows:
                break
            reach = self._reach() * REACH_SHRINK
        self.rows, self.sums = kept, [sums[kept] for sums in self.sums]
        near = [part_scale[kept] for part_scale in scale]
        for step, (part, posting) in enumerate(self.features[position:], start=1):
            self.sums[part] += self.parts[part].tfs_at(posting, self.rows) * posting.weight
            self.left[part] -= posting.share**2
            if len(self.rows) > self.limit and step % PRUNE_EVERY == 0:
                lower = self.sums[0] * near[0] + self.sums[1] * near[1]
                kept = np.flatnonzero(lower >= self._least(lower) - self._reach())
                self._keep(kept)
                near = [part_near[kept] for part_near in near]
        similar = np.zeros(len(self.rows))
        for weight, sums, (lengths, length) in zip(
            self.blend, self.sums, self.lengths, strict=True
        ):
            similar += weight * (sums / (lengths[self.rows] * length))
        return self.rows, similar

    def _reach(self) -> float:
        """Return the most the features not added yet can add to a row's similarity."""
        reach = sum(
            weight * math.sqrt(max(left, 0.0))
            for weight, left in zip(self.blend, self.left, strict=True)
        )
        return reach + 1e-9  # rounding

    def _least(self, lower: np.ndarray) -> float:
        """Return the similarity the `limit` best rows reach at least (or the floor)."""
        high = lower.take(np.flatnonzero(lower >= self.floor))
        if len(high) < self.limit:
            return self.floor
        return float(np.partition(high, len(high) - self.limit)[len(high) - self.limit])

    def _keep(self, kept: np.ndarray) -> None:
        self.rows = self.rows[kept]
        self.sums = [sums[kept] for sums in self.sums]
