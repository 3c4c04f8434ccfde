"""The bench's metrics on small cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from knowledge.evaluate import (
    accuracy,
    group_ids,
    macro_f1,
    mrr,
    per_group,
    percentiles,
    precision_recall,
    recall_at,
    subset,
)

RANKED = {
    "q1": ["a", "b", "c"],  # right one at rank 1
    "q2": ["b", "c", "a"],  # at rank 3
    "q3": ["c", "b"],  # not ranked
    "q4": ["a", "b"],  # expected none: left out
}
EXPECTED: dict[str, str | set[str] | None] = {"q1": "a", "q2": "a", "q3": "a", "q4": None}


def test_recall_at_k() -> None:
    assert recall_at(RANKED, EXPECTED, 1) == pytest.approx(1 / 3)
    assert recall_at(RANKED, EXPECTED, 2) == pytest.approx(1 / 3)
    assert recall_at(RANKED, EXPECTED, 3) == pytest.approx(2 / 3)


def test_mrr() -> None:
    assert mrr(RANKED, EXPECTED) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert mrr(RANKED, EXPECTED, k=2) == pytest.approx(1 / 3)  # rank 3 counts 0 beyond k


def test_acceptable_alternatives_count_as_right() -> None:
    expected = {"q2": {"c", "a"}}  # a translation is as good: the first right one ranks 2
    assert recall_at(RANKED, expected, 1) == 0.0
    assert mrr(RANKED, expected) == pytest.approx(0.5)


def test_a_question_missing_from_the_ranking_is_a_miss() -> None:
    assert recall_at({}, {"q9": "a"}, 5) == 0.0


def test_no_answerable_question_is_nan() -> None:
    assert math.isnan(recall_at(RANKED, {"q4": None}, 1))
    assert math.isnan(mrr(RANKED, {}))
    with pytest.raises(ValueError):
        recall_at(RANKED, EXPECTED, 0)


def test_per_language_grouping() -> None:
    languages = {"q1": "en", "q2": "he", "q3": "en", "q4": "he"}
    groups = group_ids(languages)
    assert groups == {"en": ["q1", "q3"], "he": ["q2", "q4"]}
    by_language = per_group(groups, lambda ids: recall_at(RANKED, subset(EXPECTED, ids), 1))
    assert by_language == {"en": pytest.approx(0.5), "he": 0.0}
    assert subset({"a": 1, "b": 2}, ["b", "zz"]) == {"b": 2}


def test_precision_recall() -> None:
    predicted = [True, True, False, False, True]
    actual = [True, False, True, False, True]
    result = precision_recall(predicted, actual)
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 1, 1, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(2 / 3)


def test_precision_recall_with_nothing_predicted_is_zero_not_an_error() -> None:
    result = precision_recall([False, False], [True, False])
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        precision_recall([True], [True, False])


def test_accuracy_and_macro_f1() -> None:
    actual = ["neg", "neg", "neu", "pos", "pos", "pos"]
    predicted = ["neg", "neu", "neu", "pos", "neg", "pos"]
    assert accuracy(predicted, actual) == pytest.approx(4 / 6)
    # neg: tp1 fp1 fn1 -> 0.5; neu: tp1 fp1 fn0 -> 2/3; pos: tp2 fp0 fn1 -> 0.8
    assert macro_f1(predicted, actual) == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    # A label given but never seen counts 0 and pulls the mean down.
    assert macro_f1(predicted, actual, labels=["neg", "neu", "pos", "mixed"]) == pytest.approx(
        (0.5 + 2 / 3 + 0.8) / 4
    )
    assert math.isnan(accuracy([], []))


def test_percentiles_interpolate_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentiles(values, (0, 50, 90, 100)) == {0: 10.0, 50: 25.0, 90: pytest.approx(37.0), 100: 40.0}
    assert percentiles([7.0], (50, 99)) == {50: 7.0, 99: 7.0}
    with pytest.raises(ValueError):
        percentiles([])
    with pytest.raises(ValueError):
        percentiles(values, (101,))
