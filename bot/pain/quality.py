"""How well pain points are matched: the suggestions people see and the themes that form."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.pain.matching import RULES, Blend, PainIndex, rank_themes, to_join, to_show


@dataclass(frozen=True)
class Outcome:
    """What each text, logged in turn, was shown (earlier positions) and which theme it joined."""

    shown: list[list[int]]
    themes: list[int]


def simulate(
    texts: Sequence[str], blend: Blend = Blend.WORDS, vectors: np.ndarray | None = None
) -> Outcome:
    """Log texts one after another the way /pain does, in memory; return what happened."""
    index = PainIndex(blend)
    theme_of: dict[int, int] = {}
    outcome = Outcome([], [])
    for position, text in enumerate(texts):
        vector = vectors[position] if vectors is not None else None
        rules = RULES[blend if vector is not None else Blend.WORDS]
        ranked = rank_themes(index.nearest(text, vector), theme_of)
        outcome.shown.append([found.point for found in to_show(ranked, rules)])
        joined = to_join(ranked, rules)
        theme_of[position] = joined.theme if joined is not None else position
        outcome.themes.append(theme_of[position])
        index.add(position, text, vector)
    return outcome


@dataclass(frozen=True)
class Quality:
    """Suggestion precision and recall, and how pure the themes are, against true groups."""

    precision: float
    recall: float
    purity: float
    shown_per_text: float


def quality(truth: Sequence[str], outcome: Outcome) -> Quality:
    """Score an outcome: precision of what was shown, recall, and theme purity.

    Precision is the share of shown suggestions that are the same problem; recall is the share of
    texts with an earlier one of the same problem that were shown at least one; purity is the
    share of texts that belong to their theme's most common true group.
    """
    shown = [(position, other) for position, row in enumerate(outcome.shown) for other in row]
    right = sum(truth[position] == truth[other] for position, other in shown)
    seen: set[str] = set()
    repeats = hits = 0
    for position, group in enumerate(truth):
        if group in seen:
            repeats += 1
            hits += any(truth[other] == group for other in outcome.shown[position])
        seen.add(group)
    members: dict[int, Counter[str]] = {}
    for position, theme in enumerate(outcome.themes):
        members.setdefault(theme, Counter())[truth[position]] += 1
    purest = sum(counts.most_common(1)[0][1] for counts in members.values())
    return Quality(
        precision=right / len(shown) if shown else 1.0,
        recall=hits / repeats if repeats else 1.0,
        purity=purest / len(truth) if truth else 1.0,
        shown_per_text=len(shown) / len(truth) if truth else 0.0,
    )


@dataclass(frozen=True)
class PairScores:
    """Pairwise precision and recall of a grouping against true labels."""

    precision: float
    recall: float


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
