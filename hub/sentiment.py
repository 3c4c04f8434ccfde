"""Scores every customer message off the ingest path, in batches, and flags conversations that sink.

A consumer group on the event stream: ``interaction.created`` events are read in batches, their texts
encoded together (the micro-batcher merges concurrent batches too), scored, stored with the model id, and
each conversation's trend moved; a conversation that falls below the threshold, or drops sharply, raises
``sentiment.alert``, is flagged and gets its priority raised.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from crm_core.db import Database
from crm_core.sentiment import AlertRule, Scored, store_sentiments, texts_to_score
from hub.bus import Bus, Event, Subscription
from hub.messages import utcnow
from hub.models import ModelService
from hub.pipeline import IngestPipeline
from hub.relay import EVENTS_STREAM

__all__ = ["SentimentWorker"]

log = logging.getLogger(__name__)


class SentimentWorker:
    """Consumes ``interaction.created`` and scores the customers' messages it names."""

    def __init__(
        self, db: Database, bus: Bus, pipeline: IngestPipeline, models: ModelService, rule: AlertRule
    ) -> None:
        self._db = db
        self._bus = bus
        self._pipeline = pipeline
        self._models = models
        self.rule = rule
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(EVENTS_STREAM, "sentiment", self.handle, batch_size=64)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    async def handle(self, events: Sequence[Event]) -> None:
        """Score the texts of the interactions these events created (each once)."""
        ids = [
            uuid.UUID(e.payload["interaction_id"])
            for e in events
            if e.name == "interaction.created" and "interaction_id" in e.payload
        ]
        if not ids:
            return
        async with self._db.reader.connect() as conn:
            targets = await texts_to_score(conn, ids)
        if not targets:
            return
        embeddings = await self._models.encode([t.text for t in targets], "query")
        scores = await self._models.sentiment(embeddings)
        results = [Scored(t, s.label, s.score, s.model) for t, s in zip(targets, scores, strict=True)]
        async with self._db.writer.begin() as conn:
            events_written = await store_sentiments(conn, results, self.rule, utcnow())
        self._pipeline.notify_committed(events_written)
        alerts = [e for e in events_written if e.name == "sentiment.alert"]
        for alert in alerts:
            log.info("sentiment alert on conversation %s", alert.payload["conversation_id"])
