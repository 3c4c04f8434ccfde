"""Sentiment from e5 embeddings: sentimentai-py's small dense head, optionally blended with anchor phrases.

The head reads the embedding of a message made with the ``query: `` prefix (that did best, see
``shared/MODELS.md``), so one encoder pass per message serves sentiment, retrieval and similar cases.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .base import TextEncoder, package_file
from .errors import ModelFormatError, ModelIntegrityError

__all__ = [
    "ANCHOR_PHRASES",
    "LABELS",
    "AnchorSignal",
    "DenseLayer",
    "Label",
    "SentimentHead",
    "SentimentScore",
    "SentimentScorer",
]

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
_HEAD_CLASSES = [-1, 0, 1]  # the heads' class order: negative, neutral, positive

# sha256 of sentimentai-py==2.0.0's heads for e5-small, by (kind, version).
PINNED_HEAD_SHA256: Mapping[tuple[str, str], str] = {
    ("mlp", "2.0"): "854be317f61aba757c83837c7c2397cf5b17518375918b5947248eff9261ba1f",
    ("logistic", "2.0"): "74943fd816298a886321ceeceb99d92d6358cdb4769c7ed8f50c5e756ecf15be",
}

# Short, generic contact-center phrases per class and language (en, he, fa, ar). Written apart from the
# test sentences; they give a zero-shot second opinion where the head is weak (thanks next to "problem").
ANCHOR_PHRASES: Mapping[Label, tuple[str, ...]] = {
    "negative": (
        "this is terrible, I am very angry",
        "I am very disappointed, it does not work",
        "unacceptable, I want to complain",
        "זה נורא, אני מאוד כועס",
        "אני מאוד מאוכזב, זה לא עובד",
        "זה לא מקובל, אני רוצה להתלונן",
        "افتضاح است، خیلی عصبانی هستم",
        "خیلی ناامید شدم، کار نمی‌کند",
        "غیرقابل قبول است، می‌خواهم شکایت کنم",
        "هذا سيئ جدًا، أنا غاضب جدًا",
        "أنا محبط جدًا، إنه لا يعمل",
        "هذا غير مقبول، أريد تقديم شكوى",
    ),
    "neutral": (
        "I have a question about my account",
        "what is the status of my request",
        "please update my details",
        "יש לי שאלה לגבי החשבון שלי",
        "מה הסטטוס של הבקשה שלי",
        "נא לעדכן את הפרטים שלי",
        "یک سوال درباره حسابم دارم",
        "وضعیت درخواست من چیست",
        "لطفاً اطلاعات من را به‌روز کنید",
        "لدي سؤال بخصوص حسابي",
        "ما هي حالة طلبي",
        "يرجى تحديث بياناتي",
    ),
    "positive": (
        "thank you, that is wonderful",
        "I am very satisfied",
        "excellent, it works perfectly now",
        "תודה, זה נפלא",
        "אני מאוד מרוצה",
        "מצוין, עכשיו זה עובד מושלם",
        "ممنون، فوق‌العاده است",
        "خیلی راضی هستم",
        "عالی، الان کاملاً کار می‌کند",
        "شكرًا، هذا رائع",
        "أنا راضٍ جدًا",
        "ممتاز، الآن يعمل بشكل مثالي",
    ),
}

Probabilities = NDArray[np.float64]
DEFAULT_ANCHOR_WEIGHT = 0.5  # measured on tests/knowledge/fixtures/sentiment__*.json; see the tests


@dataclass(frozen=True, slots=True)
class SentimentScore:
    """The sentiment of one text: label, P(pos) - P(neg) in [-1, 1], the three probabilities, the model."""

    label: Label
    score: float
    probabilities: tuple[float, float, float]  # in LABELS order: negative, neutral, positive
    model: str

    def by_label(self) -> dict[Label, float]:
        """The probabilities keyed by label."""
        return dict(zip(LABELS, self.probabilities, strict=True))


@dataclass(frozen=True, slots=True, eq=False)
class DenseLayer:
    """``y = x @ W.T + b`` with ``W`` shaped ``[out, in]``, as torch exports it."""

    weight: NDArray[np.float64]
    bias: NDArray[np.float64]


def _softmax(logits: NDArray[np.float64]) -> Probabilities:
    shifted = logits - logits.max(axis=1, keepdims=True)  # keeps exp() from overflowing
    exp = np.exp(shifted)
    result: Probabilities = exp / exp.sum(axis=1, keepdims=True)
    return result


def _as_rows(embeddings: NDArray[Any], dim: int) -> NDArray[np.float64]:
    rows = np.asarray(embeddings, dtype=np.float64)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.ndim != 2 or rows.shape[1] != dim:
        raise ValueError(f"expected embeddings of dimension {dim}, got shape {rows.shape}")
    return rows


class SentimentHead:
    """Dense layers with ReLU between them and a tempered softmax over [negative, neutral, positive]."""

    def __init__(self, layers: Sequence[DenseLayer], *, temperature: float = 1.0, name: str) -> None:
        """A head of ``layers`` (the last one gives 3 logits); ``name`` is recorded on every score."""
        if not layers or layers[-1].weight.shape[0] != len(LABELS) or temperature <= 0:
            raise ModelFormatError("a sentiment head needs layers ending in 3 outputs and temperature > 0")
        for before, after in itertools.pairwise(layers):
            if after.weight.shape[1] != before.weight.shape[0]:
                raise ModelFormatError("the sentiment head's layer sizes do not chain")
        self.layers = tuple(layers)
        self.temperature = temperature
        self.name = name
        self.dim = int(layers[0].weight.shape[1])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str) -> SentimentHead:
        """A head from sentimentai's JSON shape (``type`` mlp with ``layers``, or logistic)."""
        if list(data.get("classes", [])) != _HEAD_CLASSES:
            raise ModelFormatError(f"sentiment head classes must be {_HEAD_CLASSES}")
        if data.get("type") == "mlp":
            raw = [(layer["W"], layer["b"]) for layer in data["layers"]]
        elif data.get("type") == "logistic":
            raw = [(data["coef"], data["intercept"])]
        else:
            raise ModelFormatError(f"unknown sentiment head type {data.get('type')!r}")
        layers = [
            DenseLayer(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)) for w, b in raw
        ]
        return cls(layers, temperature=float(data.get("T") or 1.0), name=name)

    @classmethod
    def packaged(cls, kind: Literal["mlp", "logistic"] = "logistic", version: str = "2.0") -> SentimentHead:
        """sentimentai-py's head for multilingual-e5-small, checked against its pinned sha256."""
        # Logistic by default: on our test sentences it got polarity right more often than the mlp did.
        pinned = PINNED_HEAD_SHA256.get((kind, version))
        if pinned is None:
            raise ValueError(f"no pinned sentimentai head {kind} {version}")
        raw = package_file("sentimentai", "scoring", kind, version, "e5-small.json").read_bytes()
        if hashlib.sha256(raw).hexdigest() != pinned:
            raise ModelIntegrityError(f"sentimentai head {kind} {version} does not have the pinned sha256")
        return cls.from_dict(json.loads(raw), name=f"sentimentai-{kind}-{version}")

    def probabilities(self, embeddings: NDArray[Any]) -> Probabilities:
        """``(n, 3)`` probabilities [negative, neutral, positive] for ``(n, dim)`` embeddings."""
        z = _as_rows(embeddings, self.dim)
        for index, layer in enumerate(self.layers):
            z = z @ layer.weight.T + layer.bias
            if index < len(self.layers) - 1:
                z = np.maximum(z, 0.0)  # ReLU on hidden layers only
        return _softmax(z / self.temperature)


class AnchorSignal:
    """Zero-shot sentiment: softmax over the cosine of an embedding to each class's anchor centroid."""

    name = "anchors-v1"

    def __init__(self, centroids: NDArray[Any], *, temperature: float = 0.02) -> None:
        """``centroids``: ``(3, dim)`` in LABELS order. e5 cosines bunch up, hence the low temperature."""
        rows = np.asarray(centroids, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[0] != len(LABELS) or temperature <= 0:
            raise ValueError("anchor centroids must be (3, dim) and the temperature > 0")
        self.centroids = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        self.temperature = temperature
        self.dim = int(rows.shape[1])

    @classmethod
    def from_embeddings(
        cls, by_label: Mapping[Label, NDArray[Any]], *, temperature: float = 0.02
    ) -> AnchorSignal:
        """Anchors from the embeddings of each label's phrases (made with the scored texts' encoder)."""
        centroids = np.stack([np.asarray(by_label[label], dtype=np.float64).mean(axis=0) for label in LABELS])
        return cls(centroids, temperature=temperature)

    @classmethod
    def build(
        cls,
        encode: Callable[[list[str]], NDArray[Any]],
        phrases: Mapping[Label, Sequence[str]] = ANCHOR_PHRASES,
        *,
        temperature: float = 0.02,
    ) -> AnchorSignal:
        """Anchors from ``phrases``, embedded with ``encode`` (give it the ``query`` kind)."""
        return cls.from_embeddings(
            {label: encode(list(phrases[label])) for label in LABELS}, temperature=temperature
        )

    def probabilities(self, embeddings: NDArray[Any]) -> Probabilities:
        """``(n, 3)`` probabilities [negative, neutral, positive] for unit ``(n, dim)`` embeddings."""
        rows = _as_rows(embeddings, self.dim)
        return _softmax(rows @ self.centroids.T / self.temperature)


class SentimentScorer:
    """The head (and optionally the anchors, blended by ``anchor_weight``) applied to one encoder's output."""

    def __init__(
        self,
        head: SentimentHead,
        *,
        encoder_model_id: str,
        anchors: AnchorSignal | None = None,
        anchor_weight: float = DEFAULT_ANCHOR_WEIGHT,
    ) -> None:
        """Score embeddings made by ``encoder_model_id`` (with the ``query`` prefix)."""
        if not 0.0 <= anchor_weight <= 1.0:
            raise ValueError("anchor_weight must lie in [0, 1]")
        self.head = head
        self.anchors = anchors
        self.anchor_weight = anchor_weight if anchors is not None else 0.0
        self.model = f"{encoder_model_id}+{head.name}"
        if anchors is not None:
            self.model += f"+{anchors.name}@{self.anchor_weight:g}"

    @classmethod
    def for_encoder(
        cls,
        encoder: TextEncoder,
        *,
        head: SentimentHead | None = None,
        anchor_weight: float = DEFAULT_ANCHOR_WEIGHT,
    ) -> SentimentScorer:
        """The packaged head plus anchors embedded by ``encoder`` (blocking: run it off the event loop)."""
        anchors = None
        if anchor_weight > 0:
            anchors = AnchorSignal.build(lambda texts: encoder.encode(texts, "query"))
        return cls(
            head or SentimentHead.packaged(),
            encoder_model_id=encoder.model_id,
            anchors=anchors,
            anchor_weight=anchor_weight,
        )

    def probabilities(self, embeddings: NDArray[Any]) -> Probabilities:
        """``(n, 3)`` blended probabilities [negative, neutral, positive]."""
        probs = self.head.probabilities(embeddings)
        if self.anchors is not None and self.anchor_weight > 0:
            anchored = self.anchors.probabilities(embeddings)
            probs = (1.0 - self.anchor_weight) * probs + self.anchor_weight * anchored
        return probs

    def score(self, embeddings: NDArray[Any]) -> list[SentimentScore]:
        """One SentimentScore per embedding row."""
        return [
            SentimentScore(
                label=LABELS[int(row.argmax())],
                score=float(np.clip(row[2] - row[0], -1.0, 1.0)),
                probabilities=(float(row[0]), float(row[1]), float(row[2])),
                model=self.model,
            )
            for row in self.probabilities(embeddings)
        ]
