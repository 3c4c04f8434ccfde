"""Enrichment off the ingest path: each customer message is encoded ONCE, and that embedding serves
sentiment, suggestions and the bot alike.

A consumer group on the event stream reads ``interaction.created`` in batches; texts are encoded together
(the micro-batcher merges concurrent batches too). Sentiment is stored first; suggestions and the bot run
after it, and one's failure never loses the others' work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from crm_core.db import Database
from crm_core.sentiment import AlertRule, Scored, ScoreTarget, store_sentiments, texts_to_score
from hub.bot import Bot
from hub.broadcast import BroadcastService
from hub.bus import Bus, Event, Subscription
from hub.messages import utcnow
from hub.models import ModelService
from hub.pipeline import IngestPipeline
from hub.relay import EVENTS_STREAM, created_interactions
from hub.suggest import Suggester

__all__ = ["EnrichmentWorker", "conversation_topic"]

log = logging.getLogger(__name__)


def conversation_topic(conversation_id: uuid.UUID | str) -> str:
    """The broadcast topic on which a conversation's live updates (suggestions, sentiment) are told."""
    return f"conversation.{conversation_id}"


class EnrichmentWorker:
    """Consumes ``interaction.created``: sentiment, then suggestions and the bot, for customers' messages."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        pipeline: IngestPipeline,
        models: ModelService,
        rule: AlertRule,
        *,
        broadcast: BroadcastService | None = None,
        suggester: Suggester | None = None,
        bot: Bot | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._pipeline = pipeline
        self._models = models
        self.rule = rule
        self._broadcast = broadcast
        self.suggester = suggester
        self.bot = bot
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(
            EVENTS_STREAM, "enrichment", self.handle, batch_size=64
        )

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    async def handle(self, events: Sequence[Event]) -> None:
        """Enrich the customers' messages these events created (each once)."""
        ids = created_interactions(events)
        if not ids:
            return
        async with self._db.reader.connect() as conn:
            targets = await texts_to_score(conn, ids)
        if not targets:
            return
        embeddings = await self._models.encode([t.text for t in targets], "query")
        await self._sentiment(targets, embeddings)
        for target, vector in zip(targets, embeddings, strict=True):
            await self._after_sentiment(target, vector)

    async def _sentiment(self, targets: Sequence[ScoreTarget], embeddings: NDArray[np.float32]) -> None:
        scores = await self._models.sentiment(embeddings)
        results = [Scored(t, s.label, s.score, s.model) for t, s in zip(targets, scores, strict=True)]
        async with self._db.writer.begin() as conn:
            written = await store_sentiments(conn, results, self.rule, utcnow())
        self._pipeline.notify_committed(written)
        for conversation_id in {t.conversation_id for t in targets}:
            await self._tell(conversation_id, b'{"type":"sentiment"}')

    async def _after_sentiment(self, target: ScoreTarget, vector: NDArray[np.float32]) -> None:
        if self.suggester is not None:
            try:
                await self.suggester.suggest(target.conversation_id, vector)
                await self._tell(target.conversation_id, b'{"type":"suggestions"}')
            except Exception:  # boundary: suggestions are a help, never a reason to lose the bot's turn
                log.exception("suggestions failed for interaction %s", target.interaction_id)
        if self.bot is not None:
            try:
                await self.bot.on_message(target.conversation_id, target.interaction_id, target.text, vector)
            except Exception:  # boundary: a bot failure leaves the conversation to people, as it should
                log.exception("the bot failed on interaction %s", target.interaction_id)

    async def _tell(self, conversation_id: uuid.UUID, payload: bytes) -> None:
        if self._broadcast is not None:
            await self._broadcast.publish(conversation_topic(conversation_id), payload)
