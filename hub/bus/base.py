"""The event bus and work queue interface: named streams, consumer groups, at-least-once delivery.

Every group subscribed to a stream receives every event published to it; within a group, events are
shared among its consumers (so a group is a work queue, and several groups make an event bus). A handler
gets a batch; when it returns the batch is acknowledged, when it raises the events are delivered again,
up to ``max_deliveries`` times, and then set aside on the dead-letter stream ``<stream>.dead``
with a log line.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.messages import utcnow

__all__ = ["Bus", "Event", "Handler", "Subscription"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: a dotted name and the ids it concerns (never the data itself)."""

    name: str
    payload: Mapping[str, str]
    id: str
    occurred_at: datetime = field(default_factory=utcnow)


Handler = Callable[[Sequence[Event]], Awaitable[None]]


class Subscription(abc.ABC):
    """A running consumer; ``close()`` stops it (unacknowledged events stay pending for others)."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class Bus(abc.ABC):
    """Streams of events with consumer groups."""

    @abc.abstractmethod
    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        """Append events to a stream, in order."""

    @abc.abstractmethod
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

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the bus cannot be reached (used by /readyz)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every subscription and release connections."""
