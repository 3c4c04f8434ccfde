"""Relays outbox events to the bus after their transaction committed.

Fresh events are published at once; a sweeper re-publishes any event still unrelayed after a grace
period (a crash between commit and publish), so delivery to the bus is at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from crm_core.db import Database
from crm_core.events import StoredEvent, unrelayed_events
from hub.bus import Bus, Event
from hub.messages import utcnow
from hub.metrics import Metrics

__all__ = ["EVENTS_STREAM", "EventRelay", "as_bus_event", "created_interactions"]

log = logging.getLogger(__name__)

EVENTS_STREAM = "events"
"""The bus stream every domain event goes to."""

SWEEP_GRACE = timedelta(seconds=30)
SWEEP_EVERY = 15.0


def created_interactions(events: Sequence[Event]) -> list[uuid.UUID]:
    """The interactions that these events say were created (what enrichment and media consumers act on)."""
    return [
        uuid.UUID(e.payload["interaction_id"])
        for e in events
        if e.name == "interaction.created" and "interaction_id" in e.payload
    ]


def as_bus_event(event: StoredEvent) -> Event:
    """The bus's form of a stored outbox event."""
    return Event(
        name=event.name, payload=dict(event.payload), id=str(event.id), occurred_at=event.occurred_at
    )


class EventRelay:
    """Publishes committed events and remembers which were published, for the writer to mark."""

    def __init__(self, db: Database, bus: Bus, metrics: Metrics) -> None:
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self._pending: asyncio.Queue[Sequence[StoredEvent]] = asyncio.Queue()
        self._relayed: list[uuid.UUID] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.announce: Callable[[Sequence[Event]], Awaitable[None]] | None = None
        """Told of every event published (the console's live fan-out); never holds the relay up."""

    async def start(self, grace: timedelta | None = None) -> None:
        """Re-send what a crash left unrelayed (older than ``grace``), then run in the background."""
        await self.sweep(SWEEP_GRACE if grace is None else grace)
        self._tasks = [
            asyncio.create_task(self._publish_forever(), name="event-relay"),
            asyncio.create_task(self._sweep_forever(), name="event-sweeper"),
        ]

    async def close(self) -> None:
        """Publish what is queued, then stop."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pending.join(), timeout=5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def publish_later(self, events: Sequence[StoredEvent]) -> None:
        """Queue committed events for publishing."""
        if events:
            self._pending.put_nowait(events)

    def take_relayed(self) -> list[uuid.UUID]:
        """Hand the ids published so far to the writer, which marks them in its next transaction."""
        taken, self._relayed = self._relayed, []
        return taken

    def return_relayed(self, ids: Sequence[uuid.UUID]) -> None:
        """Give ids back when the transaction that was to mark them failed."""
        self._relayed.extend(ids)

    async def sweep(self, grace: timedelta) -> int:
        """Publish events older than ``grace`` that were never marked relayed; returns how many."""
        async with self._db.reader.connect() as conn:
            stale = await unrelayed_events(conn, older_than=utcnow() - grace)
        if stale:
            log.info("re-publishing %d events left unrelayed", len(stale))
            await self._publish(stale)
        return len(stale)

    async def _publish(self, events: Sequence[StoredEvent]) -> None:
        bus_events = [as_bus_event(e) for e in events]
        await self._bus.publish(EVENTS_STREAM, bus_events)
        self._relayed.extend(e.id for e in events)
        self._metrics.events_relayed.inc(len(events))
        if self.announce is not None:
            try:
                await self.announce(bus_events)
            except Exception:  # boundary: live views are best effort, the bus has the events
                log.warning("could not announce %d events to live views", len(events), exc_info=True)

    async def _publish_forever(self) -> None:
        while True:
            events = list(await self._pending.get())
            batches = 1
            while not self._pending.empty():
                events.extend(self._pending.get_nowait())
                batches += 1
            try:
                await self._publish(events)
            except Exception:  # task boundary: the sweeper re-sends them after the grace period
                log.warning("could not publish %d events; the sweeper will retry", len(events), exc_info=True)
            finally:
                for _ in range(batches):
                    self._pending.task_done()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.sweep(SWEEP_GRACE)
            except Exception:  # task boundary: try again next round
                log.warning("event sweep failed", exc_info=True)
