"""Which themes a new pain point looks like: scores by words and meaning, what to show, where to go.

A workspace's pain points are indexed by their words (`bot.pain.lexical`) and, when a sentence
embedding model is on, by their vectors. A new complaint is scored against every indexed one; a
theme scores as its closest member. Suggestions are the best themes that clear a floor and stay
within a margin of the best one (by words, also within a share of it), so a clear winner is shown
alone; the complaint joins the best theme when it scores high enough. The figures are measured in
docs/PAIN_GROUPING.md.
"""

import threading
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from bot.pain.lexical import LexicalIndex


class Blend(Enum):
    """What a similarity is made of."""

    WORDS = "lexical"
    MEANING = "model"
    BOTH = "hybrid"


@dataclass(frozen=True)
class Rules:
    """When a theme is shown as the same complaint, and when a new pain point joins it."""

    show_from: float
    margin: float
    shown: int
    join_from: float
    share_margin: float = 0.0  # the margin as a share of the best score, when that is wider


# Chosen on the tuning sets (docs/PAIN_GROUPING.md): the floors and margin sit where precision and
# recall trade evenly; joining a theme takes more than being shown it, so themes stay pure. The
# model alone is shown from a cosine of 0.5, as it was before the offset moved. By words, a second
# theme within a fifth of a strong first one's score is shown too: such seconds are right half the
# time or more, and bring more recall for less precision than a lower floor would.
RULES = {
    Blend.WORDS: Rules(show_from=0.2, margin=0.05, shown=2, join_from=0.45, share_margin=0.2),
    Blend.MEANING: Rules(show_from=0.32, margin=0.05, shown=2, join_from=0.45),
    Blend.BOTH: Rules(show_from=0.28, margin=0.05, shown=2, join_from=0.45),
}
# A model's cosine runs higher than a word score for the same likeness; this brings it level.
MODEL_OFFSET = 0.18
NEIGHBOURS = 30
MIN_MATCH = 0.05
# The team's labels: likeness to a pain point they tied to another counts this much more towards
# that other's theme, and likeness to one they kept apart from a theme counts against that theme.
LABEL_PULL = 0.25
LABEL_PUSH = 1.0


@dataclass(frozen=True)
class Match:
    """An indexed pain point close to a query, with its similarity."""

    key: int
    score: float


@dataclass(frozen=True)
class ThemeMatch:
    """A theme close to a query: its closest member and that member's similarity."""

    theme: int
    point: int
    score: float


def rank_themes(matches: Sequence[Match], theme_of: Mapping[int, int]) -> list[ThemeMatch]:
    """Return the themes of the matches, each scored as its closest member, best first."""
    best: dict[int, ThemeMatch] = {}
    for match in matches:
        theme = theme_of[match.key]
        if theme not in best or match.score > best[theme].score:
            best[theme] = ThemeMatch(theme, match.key, match.score)
    return sorted(best.values(), key=lambda found: (-found.score, found.theme))


@dataclass(frozen=True)
class Label:
    """The team's word on two pain points: the same problem, or not."""

    point: int
    other: int
    same: bool


def apply_labels(
    matches: Sequence[Match], theme_of: Mapping[int, int], labels: Sequence[Label]
) -> list[ThemeMatch]:
    """Rank themes as `rank_themes` does, then let the team's labels pull and push them.

    A query like pain point a, which the team said is the same problem as b, scores higher for
    b's theme; a query like a, which the team kept apart from b, scores lower for b's theme.
    """
    near = {match.key: match.score for match in matches}
    scores = {found.theme: found for found in rank_themes(matches, theme_of)}
    pushed: dict[int, float] = {}
    for label in labels:
        for point, other in ((label.point, label.other), (label.other, label.point)):
            if point not in near or other not in theme_of:
                continue
            theme, likeness = theme_of[other], near[point]
            if not label.same:
                # Only when the query is more like the kept-apart pain point than like the theme.
                apart = theme_of.get(point) != theme and theme in scores
                if apart and likeness >= scores[theme].score:
                    pushed[theme] = max(pushed.get(theme, 0.0), LABEL_PUSH * likeness)
                continue
            pulled = min(1.0, likeness * (1 + LABEL_PULL))
            current = scores.get(theme)
            if current is None or pulled > current.score:
                scores[theme] = ThemeMatch(theme, current.point if current else other, pulled)
    adjusted = [
        ThemeMatch(found.theme, found.point, found.score - pushed.get(found.theme, 0.0))
        for found in scores.values()
    ]
    return sorted(adjusted, key=lambda found: (-found.score, found.theme))


def to_show(ranked: Sequence[ThemeMatch], rules: Rules) -> list[ThemeMatch]:
    """Return the themes worth showing: above the floor and within the margin of the best."""
    if not ranked:
        return []
    top = ranked[0].score
    margin = max(rules.margin, rules.share_margin * top)
    return [
        found
        for found in ranked[: rules.shown]
        if found.score >= rules.show_from and found.score >= top - margin
    ]


def to_join(ranked: Sequence[ThemeMatch], rules: Rules) -> ThemeMatch | None:
    """Return the theme a new pain point joins, if one is close enough."""
    return ranked[0] if ranked and ranked[0].score >= rules.join_from else None


class PainIndex:
    """One workspace's pain points by words and, when a model is on, by meaning, in rows."""

    def __init__(self, blend: Blend = Blend.WORDS, model: str | None = None) -> None:
        self.blend = blend
        self.model = model
        self._words = LexicalIndex()
        self._keys = array("q")
        self._row_of: dict[int, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._newest = 0
        self.vectors_checked_at = 0.0
        self.labels: list[Label] = []
        self.label_count = 0
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: int) -> bool:
        return key in self._row_of

    @property
    def newest_key(self) -> int:
        """Return the highest key indexed (0 when empty)."""
        return self._newest

    def add(self, key: int, text: str, vector: np.ndarray | None = None) -> None:
        """Index a pain point under its id; one already indexed is kept as it was."""
        if key in self._row_of:
            return
        self._row_of[key] = len(self._keys)
        self._keys.append(key)
        self._newest = max(self._newest, key)
        self._words.append(text)
        if vector is not None:
            self.set_vector(key, vector)

    def set_vector(self, key: int, vector: np.ndarray) -> None:
        """Give an indexed pain point its meaning vector (unit length)."""
        row = self._row_of[key]
        if self._vectors.shape[1] != len(vector):
            self._vectors = np.zeros((max(len(self._keys), 16), len(vector)), dtype=np.float32)
        if row >= len(self._vectors):
            grown = np.zeros((2 * row + 16, self._vectors.shape[1]), dtype=np.float32)
            grown[: len(self._vectors)] = self._vectors
            self._vectors = grown
        self._vectors[row] = vector

    def keys_without_vector(self) -> list[int]:
        """Return the indexed pain points that have no meaning vector yet."""
        rows = len(self._keys)
        if not len(self._vectors):
            return list(self._keys)
        filled = np.zeros(rows, dtype=bool)
        known = min(rows, len(self._vectors))
        filled[:known] = np.any(self._vectors[:known] != 0, axis=1)
        return [int(self._keys[row]) for row in np.flatnonzero(~filled)]

    def nearest(
        self, text: str, vector: np.ndarray | None, limit: int = NEIGHBOURS, from_row: int = 0
    ) -> list[Match]:
        """Return up to `limit` pain points most like this text, best first (indexed from a row)."""
        if from_row == 0 and (self.blend is Blend.WORDS or vector is None):
            rows, scores = self._words.best(text, limit, MIN_MATCH)  # only rows that can make it
        else:
            scores = self.scores(text, vector, from_row)
            rows = np.arange(len(scores))
        kept = np.flatnonzero(scores >= MIN_MATCH)
        if len(kept) > limit:
            # Every row level with the last one kept stays here, and the earliest of them below.
            least = np.partition(scores[kept], len(kept) - limit)[len(kept) - limit]
            kept = kept[scores[kept] >= least]
        ranked = sorted(kept, key=lambda at: (-scores[at], rows[at]))[:limit]
        return [
            Match(int(self._keys[from_row + rows[at]]), round(float(scores[at]), 4))
            for at in ranked
        ]

    def scores(self, text: str, vector: np.ndarray | None, from_row: int = 0) -> np.ndarray:
        """Return the similarity of the text to every row from `from_row` on, by the blend."""
        rows = len(self._keys)
        if self.blend is Blend.WORDS or vector is None:
            return self._words.scores(text, from_row)
        meaning = np.full(rows - from_row, -MODEL_OFFSET)
        if len(self._vectors) and self._vectors.shape[1] == len(vector):
            known = min(rows, len(self._vectors))
            if known > from_row:
                meaning[: known - from_row] = self._vectors[from_row:known] @ vector - MODEL_OFFSET
        if self.blend is Blend.MEANING:
            return meaning
        return np.maximum(self._words.scores(text, from_row), meaning)
