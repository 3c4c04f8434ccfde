"""The sentiment head's math on tiny hand-made layers, the anchors, the blend and the packaged heads."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from knowledge.errors import ModelFormatError
from knowledge.sentiment import (
    ANCHOR_PHRASES,
    LABELS,
    AnchorSignal,
    DenseLayer,
    SentimentHead,
    SentimentScore,
    SentimentScorer,
)


def _softmax(logits: list[float]) -> list[float]:
    exps = [math.exp(v) for v in logits]
    return [v / sum(exps) for v in exps]


def _tiny_mlp() -> SentimentHead:
    # 2 -> 2 (ReLU) -> 3. Hidden: h0 = x0 - x1, h1 = x1 - 1 (bias -1).
    hidden = DenseLayer(np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0.0, -1.0]))
    # Logits: neg = 2*h1, neutral = 0.5, pos = h0 + 0.25.
    out = DenseLayer(np.array([[0.0, 2.0], [0.0, 0.0], [1.0, 0.0]]), np.array([0.0, 0.5, 0.25]))
    return SentimentHead([hidden, out], temperature=2.0, name="tiny")


def test_mlp_head_applies_relu_between_layers_then_a_tempered_softmax() -> None:
    probs = _tiny_mlp().probabilities(np.array([[3.0, 1.0], [0.0, 4.0]]))
    # Row 0: h = (2, 0) -> logits (0, 0.5, 2.25). Row 1: h = (relu(-4)=0, 3) -> logits (6, 0.5, 0.25).
    np.testing.assert_allclose(probs[0], _softmax([0.0, 0.25, 1.125]))
    np.testing.assert_allclose(probs[1], _softmax([3.0, 0.25, 0.125]))


def test_a_single_embedding_is_taken_as_one_row() -> None:
    assert _tiny_mlp().probabilities(np.array([3.0, 1.0])).shape == (1, 3)


def test_logistic_head_from_its_json_shape() -> None:
    data = {"type": "logistic", "T": 1.0, "classes": [-1, 0, 1], "coef": [[1, 0], [0, 0], [0, 1]]}
    head = SentimentHead.from_dict({**data, "intercept": [0.0, 0.0, 0.0]}, name="lr")
    np.testing.assert_allclose(head.probabilities(np.array([[1.0, 2.0]]))[0], _softmax([1.0, 0.0, 2.0]))


def test_mlp_head_from_its_json_shape() -> None:
    data = {
        "type": "mlp",
        "T": 1.0,
        "classes": [-1, 0, 1],
        "layers": [{"W": [[1, 0], [0, 1]], "b": [0, 0]}, {"W": [[1, 0], [0, 0], [0, 1]], "b": [0, 0, 0]}],
    }
    head = SentimentHead.from_dict(data, name="mlp")
    np.testing.assert_allclose(head.probabilities(np.array([[-1.0, 2.0]]))[0], _softmax([0.0, 0.0, 2.0]))


@pytest.mark.parametrize(
    "data",
    [
        {"type": "mlp", "classes": [0, 1, 2], "layers": []},
        {"type": "svm", "classes": [-1, 0, 1]},
        {"type": "logistic", "classes": [-1, 0, 1], "coef": [[1, 0], [0, 1]], "intercept": [0, 0]},
        {
            "type": "mlp",
            "classes": [-1, 0, 1],
            "layers": [{"W": [[1, 0]], "b": [0]}, {"W": [[1, 0], [0, 1], [1, 1]], "b": [0, 0, 0]}],
        },
    ],
)
def test_malformed_heads_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ModelFormatError):
        SentimentHead.from_dict(data, name="bad")


def test_embeddings_of_the_wrong_dimension_are_refused() -> None:
    with pytest.raises(ValueError, match="dimension 2"):
        _tiny_mlp().probabilities(np.zeros((1, 5)))


@pytest.mark.parametrize("kind", ["mlp", "logistic"])
def test_packaged_heads_load_with_their_pinned_sums(kind: str) -> None:
    head = SentimentHead.packaged(kind)  # type: ignore[arg-type]
    assert head.dim == 384 and head.name == f"sentimentai-{kind}-2.0"
    probs = head.probabilities(np.random.default_rng(0).normal(size=(4, 384)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_anchor_signal_prefers_the_nearest_centroid() -> None:
    by_label = {
        "negative": np.array([[1.0, 0.0, 0.0], [0.8, 0.2, 0.0]]),
        "neutral": np.array([[0.0, 1.0, 0.0]]),
        "positive": np.array([[0.0, 0.0, 1.0]]),
    }
    anchors = AnchorSignal.from_embeddings(by_label, temperature=0.5)
    probs = anchors.probabilities(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    assert probs[0].argmax() == 2 and probs[1].argmax() == 0
    negative = np.array([0.9, 0.1, 0.0]) / np.linalg.norm([0.9, 0.1, 0.0])
    cosines = [float(negative @ [1.0, 0, 0]), 0.0, 0.0]
    np.testing.assert_allclose(probs[1], _softmax([c / 0.5 for c in cosines]))


def test_anchor_phrases_cover_every_label_in_four_languages() -> None:
    assert set(ANCHOR_PHRASES) == set(LABELS)
    assert all(len(phrases) == 12 for phrases in ANCHOR_PHRASES.values())


def test_scorer_blends_head_and_anchors_and_names_every_part() -> None:
    head = SentimentHead([DenseLayer(np.eye(3), np.zeros(3))], name="eye")
    anchors = AnchorSignal(np.eye(3), temperature=1.0)
    scorer = SentimentScorer(head, encoder_model_id="enc", anchors=anchors, anchor_weight=0.25)
    assert scorer.model == "enc+eye+anchors-v1@0.25"
    row = np.array([[0.0, 0.0, 1.0]])
    expected = 0.75 * head.probabilities(row) + 0.25 * anchors.probabilities(row)
    np.testing.assert_allclose(scorer.probabilities(row), expected)
    (score,) = scorer.score(row)
    assert score.label == "positive"
    assert score.score == pytest.approx(expected[0, 2] - expected[0, 0])
    assert score.model == "enc+eye+anchors-v1@0.25"
    assert score.by_label()["neutral"] == pytest.approx(expected[0, 1])


def test_scores_without_anchors_come_from_the_head_alone() -> None:
    scorer = SentimentScorer(_tiny_mlp(), encoder_model_id="enc")
    assert scorer.model == "enc+tiny"
    (negative, positive) = scorer.score(np.array([[0.0, 4.0], [3.0, 1.0]]))
    assert (negative.label, positive.label) == ("negative", "positive")
    assert -1.0 <= negative.score < 0 < positive.score <= 1.0
    assert sum(negative.probabilities) == pytest.approx(1.0)


def test_a_score_is_frozen() -> None:
    score = SentimentScore("neutral", 0.0, (0.2, 0.6, 0.2), "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.label = "positive"  # type: ignore[misc]


def test_anchor_weight_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="anchor_weight"):
        SentimentScorer(_tiny_mlp(), encoder_model_id="enc", anchor_weight=1.5)
