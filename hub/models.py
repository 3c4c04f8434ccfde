"""The language models the hub uses, loaded once, lazily, off the event loop, and shared by every part.

One multilingual encoder embeds each message once; the embedding serves sentiment, retrieval and similar
cases alike. Requests from everywhere are batched by one micro-batcher with one worker thread.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from knowledge import (
    ANCHOR_PHRASES,
    LABELS,
    AnchorSignal,
    Encoder,
    Kind,
    MicroBatcher,
    SentimentHead,
    SentimentScore,
    SentimentScorer,
)

__all__ = ["ModelService"]

# Nothing may be fetched from a model hub at run time: the default model comes inside a package.
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
    os.environ.setdefault(_name, "1")


class ModelService:
    """The shared encoder (through the micro-batcher) and the sentiment scorer built on it."""

    def __init__(
        self, home: Path, model: str | None = None, *, max_batch: int = 32, max_wait_ms: float = 10.0
    ):
        self.batcher = MicroBatcher(
            lambda: Encoder(model, data_dir=home), max_batch=max_batch, max_wait_ms=max_wait_ms
        )
        self._scorer: SentimentScorer | None = None
        self._lock = asyncio.Lock()

    @property
    def backlog(self) -> int:
        """Texts waiting for the encoder."""
        return self.batcher.backlog

    async def encode(self, texts: list[str], kind: Kind = "query") -> NDArray[np.float32]:
        """Embeddings of ``texts``, batched with whatever else is waiting."""
        return await self.batcher.encode_many(texts, kind)

    async def model_id(self) -> str:
        """The encoder's model id (loads it when not loaded yet)."""
        return self.batcher.model_id or await self.batcher.warm_up()

    async def scorer(self) -> SentimentScorer:
        """The sentiment scorer, built once on the loaded encoder (its anchor phrases embedded by it)."""
        async with self._lock:
            if self._scorer is None:
                model_id = await self.model_id()
                anchors = AnchorSignal.from_embeddings(
                    {label: await self.encode(list(ANCHOR_PHRASES[label])) for label in LABELS}
                )
                head = await asyncio.to_thread(SentimentHead.packaged)
                self._scorer = SentimentScorer(head, encoder_model_id=model_id, anchors=anchors)
        return self._scorer

    async def sentiment(self, embeddings: NDArray[np.float32]) -> list[SentimentScore]:
        """Scores for embeddings this service's encoder made."""
        scorer = await self.scorer()
        return scorer.score(embeddings)

    async def start(self) -> None:
        """Nothing to do: the model loads on first use, in the encoder's thread."""

    async def close(self) -> None:
        await self.batcher.close()
