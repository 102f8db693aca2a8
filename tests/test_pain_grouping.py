"""The automatic grouping of pain points, scored on the labeled set in tests/data/."""

import csv
import random
from pathlib import Path

import pytest

from bot.pain.matching import SimilarityIndex, group_online, pair_scores, terms

LABELED = Path(__file__).parent / "data" / "pain_points.csv"
# The levels reached when this was written (docs/PAIN_GROUPING.md): never fall below them.
MIN_PRECISION, MIN_RECALL = 0.70, 0.52
MIN_MEAN_PRECISION, MIN_MEAN_RECALL = 0.69, 0.51


def labeled() -> list[tuple[str, str]]:
    """Return the labeled complaints as (true group, text), in the file's order."""
    with LABELED.open(newline="") as file:
        return [(row["group"], row["text"]) for row in csv.DictReader(file)]


def shuffled(seed: int) -> list[tuple[str, str]]:
    """Return the labeled complaints in the order one seed shuffles them into."""
    rows = labeled()
    random.Random(seed).shuffle(rows)
    return rows


def test_the_labeled_set_is_large_and_varied_enough_to_mean_something() -> None:
    rows = labeled()
    groups = {group for group, _ in rows}
    assert len(rows) >= 150
    assert len(groups) >= 20
    assert all(sum(1 for group, _ in rows if group == name) >= 5 for name in groups)
    assert len({text for _, text in rows}) == len(rows)


def test_grouping_keeps_its_precision_and_recall_on_the_labeled_set() -> None:
    rows = shuffled(0)
    scores = pair_scores([group for group, _ in rows], group_online([text for _, text in rows]))
    assert scores.precision >= MIN_PRECISION
    assert scores.recall >= MIN_RECALL


def test_grouping_holds_up_whatever_order_the_complaints_arrive_in() -> None:
    results = []
    for seed in range(10):
        rows = shuffled(seed)
        truth = [group for group, _ in rows]
        results.append(pair_scores(truth, group_online([text for _, text in rows])))
    assert sum(r.precision for r in results) / len(results) >= MIN_MEAN_PRECISION
    assert sum(r.recall for r in results) / len(results) >= MIN_MEAN_RECALL


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("GPU queue takes forever", "waiting hours for a GPU"),
        ("no A100s free, my job is pending", "cuda nodes are always queued"),
        ("the model rollout is manual", "deploying models is painful"),
        ("no access to the events table", "permission denied on the warehouse tables"),
    ],
)
def test_reworded_complaints_are_found(first: str, second: str) -> None:
    index = SimilarityIndex()
    index.add(1, first)
    index.add(2, "the wiki about onboarding is outdated")
    index.add(3, "code reviews take a week")
    [match] = index.nearest(second, 1, 0.2)
    assert match.key == 1


def test_synonyms_and_stems_make_one_term() -> None:
    assert terms("A100s") == terms("GPUs") == terms("cuda") == ["gpu"]
    assert terms("deploying") == terms("rollout") == ["deploy"]
    assert terms("the and of") == []


def test_pair_scores_count_pairs() -> None:
    perfect = pair_scores(["a", "a", "b"], [1, 1, 2])
    assert (perfect.precision, perfect.recall) == (1.0, 1.0)
    lumped = pair_scores(["a", "a", "b"], [1, 1, 1])
    assert (round(lumped.precision, 3), lumped.recall) == (0.333, 1.0)
    apart = pair_scores(["a", "a", "b"], [1, 2, 3])
    assert (apart.precision, apart.recall) == (1.0, 0.0)
