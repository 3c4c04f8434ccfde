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

__all__ = [
    "MAX_RETRY_DELAY",
    "Bus",
    "Event",
    "Handler",
    "Subscription",
    "check_subscribe_options",
    "retry_delay",
]

MAX_RETRY_DELAY = 5.0
"""Longest wait, in seconds, before a failed batch is delivered again."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened: a dotted name and the ids it concerns (never the data itself)."""

    name: str
    payload: Mapping[str, str]
    id: str
    occurred_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        # Both buses carry occurred_at as tz-aware ISO 8601: refuse a naive one where it is made.
        if self.occurred_at.utcoffset() is None:
            raise ValueError(f"event {self.id} ({self.name}): occurred_at must be timezone-aware")


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


def check_subscribe_options(*, batch_size: int, max_deliveries: int) -> None:
    """Raise ValueError unless both are at least 1."""
    for name, value in (("batch_size", batch_size), ("max_deliveries", max_deliveries)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")


def retry_delay(backoff: float, deliveries: int) -> float:
    """Seconds to wait before delivering again: doubles with each delivery so far, capped."""
    return min(backoff * 2.0 ** (deliveries - 1), MAX_RETRY_DELAY)
