"""Downloads inbound attachments into the hub's storage before the provider's links expire.

A consumer group on the event stream: each ``interaction.created`` with attachments is fetched through its
channel (with the provider's credentials), within the size and type limits, and stored in the database so
that every hub process can serve it (``/api/v1/media/{id}``, signed-in users only).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from crm_core.db import Database
from crm_core.media import MediaResult, PendingMedia, pending_media, store_media_results
from hub.bus import Bus, Event, Subscription
from hub.contract import Channel
from hub.errors import MediaUnavailable
from hub.messages import Attachment, utcnow
from hub.metrics import Metrics
from hub.relay import EVENTS_STREAM, created_interactions

__all__ = ["MediaFetcher"]

log = logging.getLogger(__name__)


class MediaFetcher:
    """Consumes ``interaction.created`` and stores the attachments it carries."""

    def __init__(
        self, db: Database, bus: Bus, metrics: Metrics, *, max_bytes: int, types: Sequence[str]
    ) -> None:
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self.channels: Mapping[str, Channel[Any]] = {}
        self.max_bytes = max_bytes
        self.types = tuple(t.strip().lower() for t in types if t.strip())
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(EVENTS_STREAM, "media", self.handle, batch_size=32)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    def allowed(self, content_type: str) -> bool:
        """Whether this content type may be downloaded (``type/*`` wildcards)."""
        base = content_type.split(";", 1)[0].strip().lower()
        return any(fnmatch.fnmatchcase(base, pattern) for pattern in self.types)

    async def handle(self, events: Sequence[Event]) -> None:
        """Fetch the attachments of the interactions these events created."""
        ids = created_interactions(events)
        if not ids:
            return
        async with self._db.reader.connect() as conn:
            pending = await pending_media(conn, ids)
        for item in pending:
            results = [
                await self._fetch(item, position, data) for position, data in enumerate(item.attachments)
            ]
            async with self._db.writer.begin() as conn:
                await store_media_results(conn, item.interaction_id, results, utcnow())

    async def _fetch(self, item: PendingMedia, position: int, data: Mapping[str, Any]) -> MediaResult:
        content_type = str(data.get("content_type") or "application/octet-stream")
        channel = self.channels.get(item.channel)
        error = None
        if channel is None:
            error = f"channel {item.channel} is not enabled"
        elif not self.allowed(content_type):
            error = f"content type {content_type} is not stored (SWITCHBOARD_MEDIA_TYPES)"
        elif isinstance(data.get("size"), int) and data["size"] > self.max_bytes:
            error = f"larger than {self.max_bytes} bytes (SWITCHBOARD_MEDIA_MAX_BYTES)"
        if channel is None or error is not None:
            self._metrics.media.labels(item.channel, "skipped").inc()
            return MediaResult(position, content_type, error=error)
        attachment = Attachment(
            content_type=content_type,
            url=data.get("url"),
            filename=data.get("filename"),
            size=data.get("size"),
            media_id=data.get("media_id"),
        )
        try:
            media = await channel.fetch_media(attachment, max_bytes=self.max_bytes)
        except MediaUnavailable as err:
            log.warning("attachment %d of %s not stored: %s", position, item.interaction_id, err.detail)
            self._metrics.media.labels(item.channel, "failed").inc()
            return MediaResult(position, content_type, error=err.detail)
        if len(media.content) > self.max_bytes:
            self._metrics.media.labels(item.channel, "failed").inc()
            return MediaResult(position, content_type, error=f"larger than {self.max_bytes} bytes")
        self._metrics.media.labels(item.channel, "stored").inc()
        return MediaResult(
            position, media.content_type or content_type, media.content, media.filename or attachment.filename
        )
