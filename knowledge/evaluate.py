"""Pure metrics for the bench: retrieval, yes/no decisions, labels, latency percentiles, per-language groups.

Recall@k and MRR for retrieval, precision and recall for answer and handoff decisions, accuracy and macro-F1
for sentiment labels, percentiles for latencies.

Retrieval metrics take ``ranked`` (question id -> article ids, best first) and ``expected`` (question id ->
the right article id, a collection of acceptable ids, or None for a question the knowledge base does not
answer). Questions expected None are left out of retrieval metrics; with no question left a metric is NaN,
so an empty group shows as such in a table instead of failing the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "Expected",
    "PrecisionRecall",
    "accuracy",
    "group_ids",
    "macro_f1",
    "mrr",
    "per_group",
    "percentiles",
    "precision_recall",
    "recall_at",
    "subset",
]

Expected = str | Collection[str] | None
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _answers(expected: Expected) -> frozenset[str]:
    if expected is None:
        return frozenset()
    if isinstance(expected, str):
        return frozenset((expected,))
    return frozenset(expected)


def _ranks(ranked: Mapping[str, Sequence[str]], expected: Mapping[str, Expected]) -> list[int | None]:
    """The 1-based rank of the first right article per answerable question; None when it is not ranked."""
    ranks: list[int | None] = []
    for question, answer in expected.items():
        right = _answers(answer)
        if not right:
            continue
        ids = ranked.get(question, ())
        ranks.append(next((index for index, article in enumerate(ids, start=1) if article in right), None))
    return ranks


def recall_at(ranked: Mapping[str, Sequence[str]], expected: Mapping[str, Expected], k: int) -> float:
    """Share of answerable questions whose right article is in the top ``k``; NaN with none."""
    if k < 1:
        raise ValueError("k must be at least 1")
    ranks = _ranks(ranked, expected)
    if not ranks:
        return math.nan
    return sum(rank is not None and rank <= k for rank in ranks) / len(ranks)


def mrr(ranked: Mapping[str, Sequence[str]], expected: Mapping[str, Expected], k: int | None = None) -> float:
    """Mean reciprocal rank of the right article (0 when missing or below ``k``); NaN with no question."""
    ranks = _ranks(ranked, expected)
    if not ranks:
        return math.nan
    return sum(1.0 / rank for rank in ranks if rank is not None and (k is None or rank <= k)) / len(ranks)


def group_ids(labels: Mapping[str, str]) -> dict[str, list[str]]:
    """Ids by their label (a question's language, say), labels and ids in first-seen order."""
    groups: dict[str, list[str]] = {}
    for item, label in labels.items():
        groups.setdefault(label, []).append(item)
    return groups


def subset(mapping: Mapping[K, V], ids: Iterable[K]) -> dict[K, V]:
    """The entries of ``mapping`` for ``ids`` (ids it lacks are skipped)."""
    return {item: mapping[item] for item in ids if item in mapping}


def per_group(
    groups: Mapping[str, Sequence[str]], metric: Callable[[Sequence[str]], float]
) -> dict[str, float]:
    """``metric`` over each group's ids, e.g. ``per_group(by_language, lambda ids: recall_at(..., k=1))``."""
    return {label: metric(ids) for label, ids in groups.items()}


@dataclass(frozen=True, slots=True)
class PrecisionRecall:
    """Counts and rates of a yes/no decision against the truth; a rate with a zero denominator is 0.0."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        """tp / (tp + fp)."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """tp / (tp + fn)."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _paired(predicted: Sequence[V], actual: Sequence[V]) -> list[tuple[V, V]]:
    if len(predicted) != len(actual):
        raise ValueError(f"{len(predicted)} predictions but {len(actual)} true values")
    return list(zip(predicted, actual, strict=True))


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> PrecisionRecall:
    """Precision and recall of yes/no decisions (answered? handed over? a handoff request?)."""
    pairs = _paired(predicted, actual)
    return PrecisionRecall(
        tp=sum(p and a for p, a in pairs),
        fp=sum(p and not a for p, a in pairs),
        fn=sum(not p and a for p, a in pairs),
        tn=sum(not p and not a for p, a in pairs),
    )


def accuracy(predicted: Sequence[str], actual: Sequence[str]) -> float:
    """Share of predictions equal to the true label; NaN with none."""
    pairs = _paired(predicted, actual)
    return sum(p == a for p, a in pairs) / len(pairs) if pairs else math.nan


def macro_f1(predicted: Sequence[str], actual: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """Unweighted mean of each label's F1 (a label never predicted nor true counts 0); NaN with no labels."""
    pairs = _paired(predicted, actual)
    classes = list(labels) if labels is not None else sorted({*predicted, *actual})
    if not classes:
        return math.nan
    scores = [precision_recall([p == c for p, _ in pairs], [a == c for _, a in pairs]).f1 for c in classes]
    return sum(scores) / len(scores)


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 90, 95, 99)) -> dict[float, float]:
    """The ``qs`` percentiles of ``values`` with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentiles of no values")
    result: dict[float, float] = {}
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentile {q} is outside 0..100")
        position = (len(ordered) - 1) * q / 100
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        result[q] = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return result
