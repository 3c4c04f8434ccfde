"""The in-process bus: the embedded one-process default.

Events live in memory only, so they are as durable as the process; the outbox they are relayed from is what
survives a crash. Semantics match ``hub.bus.base`` and the Redis implementation (one test suite runs both).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub.bus.base import Bus, Event, Handler, Subscription, check_subscribe_options, retry_delay

__all__ = ["MemoryBus"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Delivery:
    """An event waiting in (or taken from) a group's queue, with how often the group has handed it out."""

    event: Event
    count: int = 0


class _Group:
    """One consumer group: the events none of its consumers has taken yet."""

    def __init__(self, maxlen: int | None) -> None:
        self._queue: deque[_Delivery] = deque()
        self._ready = asyncio.Event()
        self._maxlen = maxlen

    def put(self, deliveries: Iterable[_Delivery]) -> int:
        """Queue new events at the back; return how many of the oldest were dropped to stay within maxlen."""
        self._queue.extend(deliveries)
        dropped = 0
        # Like the Redis stream's MAXLEN: a group nobody consumes must not grow without bound.
        while self._maxlen is not None and len(self._queue) > self._maxlen:
            self._queue.popleft()
            dropped += 1
        if self._queue:
            self._ready.set()
        return dropped

    def put_back(self, deliveries: Sequence[_Delivery]) -> None:
        """Return unacknowledged events to the front, in their order, so they are next for any consumer."""
        self._queue.extendleft(reversed(deliveries))
        if self._queue:
            self._ready.set()

    async def take(self, limit: int) -> list[_Delivery]:
        """Wait for at least one event, then take up to ``limit`` of those queued (never waits to fill)."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]


class _Consumer:
    """Feeds one subscription's handler from its group's queue."""

    def __init__(
        self,
        bus: MemoryBus,
        stream: str,
        group: str,
        handler: Handler,
        *,
        batch_size: int,
        max_deliveries: int,
    ) -> None:
        self._bus = bus
        self._stream = stream
        self._group_name = group
        self._group = bus._group(stream, group)
        self._handler = handler
        self._batch_size = batch_size
        self._max_deliveries = max_deliveries
        self._stopping = False

    def stop(self) -> None:
        """End the loop at its next turn, should a handler swallow the cancellation (as wait_for can)."""
        self._stopping = True

    async def run(self) -> None:
        """Hand batches to the handler until cancelled or stopped."""
        while not self._stopping:
            batch = await self._group.take(self._batch_size)
            for delivery in batch:
                delivery.count += 1
            try:
                await self._handler([delivery.event for delivery in batch])
            except asyncio.CancelledError:
                # Stopped mid-batch: nothing was acknowledged, so the group's other consumers get them.
                self._group.put_back(batch)
                raise
            except Exception:  # the task boundary: a failing handler must not end the consumer
                logger.exception(
                    "bus handler for %s group %s failed on %d event(s)",
                    self._stream,
                    self._group_name,
                    len(batch),
                )
                await self._retry_or_bury(batch)

    async def _retry_or_bury(self, batch: Sequence[_Delivery]) -> None:
        spent = [delivery for delivery in batch if delivery.count >= self._max_deliveries]
        again = [delivery for delivery in batch if delivery.count < self._max_deliveries]
        if spent:
            await self._bury(spent)
        if not again:
            return
        try:
            await asyncio.sleep(retry_delay(self._bus.retry_backoff, again[0].count))
        finally:
            # Returned to the group even when cancelled during the backoff: they are still unacknowledged.
            self._group.put_back(again)

    async def _bury(self, spent: Sequence[_Delivery]) -> None:
        for delivery in spent:
            logger.error(
                "bus dead-lettered event %s (%s) from %s group %s after %d deliveries",
                delivery.event.id,
                delivery.event.name,
                self._stream,
                self._group_name,
                delivery.count,
            )
        await self._bus.publish(f"{self._stream}.dead", [delivery.event for delivery in spent])


class _TaskSubscription(Subscription):
    """A subscription backed by one task that the bus owns."""

    def __init__(self, bus: MemoryBus, consumer: _Consumer, name: str) -> None:
        self._bus = bus
        self._consumer = consumer
        self._task = asyncio.create_task(consumer.run(), name=name)

    async def close(self) -> None:
        """Cancel the consumer and wait until it has stopped."""
        self._consumer.stop()
        self._task.cancel()
        await asyncio.wait({self._task})
        self._bus._subscriptions.discard(self)


class MemoryBus(Bus):
    """Streams and consumer groups inside this process."""

    def __init__(self, *, retry_backoff: float = 0.1, maxlen: int | None = 1_000_000) -> None:
        self.retry_backoff = retry_backoff
        self._maxlen = maxlen
        self._streams: dict[str, dict[str, _Group]] = {}
        self._subscriptions: set[_TaskSubscription] = set()
        self._closed = False

    def _group(self, stream: str, group: str) -> _Group:
        groups = self._streams.setdefault(stream, {})
        if group not in groups:
            groups[group] = _Group(self._maxlen)
        return groups[group]

    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        """Append events to a stream: every group that exists now gets each of them."""
        for name, group in self._streams.get(stream, {}).items():
            dropped = group.put(_Delivery(event) for event in events)
            if dropped:
                logger.warning(
                    "bus dropped the %d oldest unread event(s) of %s group %s", dropped, stream, name
                )

    async def subscribe(
        self,
        stream: str,
        group: str,
        handler: Handler,
        *,
        consumer: str | None = None,
        batch_size: int = 64,
        max_deliveries: int = 5,
    ) -> Subscription:
        """Start a consumer in ``group`` (created if new) that hands batches of events to ``handler``."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        check_subscribe_options(batch_size=batch_size, max_deliveries=max_deliveries)
        worker = _Consumer(self, stream, group, handler, batch_size=batch_size, max_deliveries=max_deliveries)
        name = f"bus:{stream}:{group}:{consumer or 'consumer'}"
        subscription = _TaskSubscription(self, worker, name)
        self._subscriptions.add(subscription)
        return subscription

    async def ping(self) -> None:
        """Always reachable: it lives in this process."""

    async def close(self) -> None:
        """Stop every subscription; unacknowledged events stay queued in their groups."""
        self._closed = True
        await asyncio.gather(*(subscription.close() for subscription in list(self._subscriptions)))
