"""Cross-process fan-out for live connections: in-process by default, Redis pub/sub when scaled out.

Not durable by design: what matters is stored (and relayed on the bus) first; a broadcast only tells live
connections (web chat visitors, console agents) that something changed.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

__all__ = ["BroadcastService", "MemoryBroadcast", "RedisBroadcast", "create_broadcast"]

log = logging.getLogger(__name__)

_QUEUE_LIMIT = 1000


class BroadcastService(abc.ABC):
    """A :class:`hub.contract.Broadcast` the hub owns (and closes)."""

    @abc.abstractmethod
    async def publish(self, topic: str, payload: bytes) -> None: ...

    @abc.abstractmethod
    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class MemoryBroadcast(BroadcastService):
    """Fan-out inside one process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = {}

    async def publish(self, topic: str, payload: bytes) -> None:
        for queue in tuple(self._subscribers.get(topic, ())):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:
                log.warning("broadcast: a slow subscriber of %s dropped a message", topic)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(_QUEUE_LIMIT)
        self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield _drain(queue)
        finally:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[topic]

    async def close(self) -> None:
        self._subscribers.clear()


async def _drain(queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
    while True:
        yield await queue.get()


class RedisBroadcast(BroadcastService):
    """Fan-out across hub processes through Redis pub/sub (channel names prefixed ``sb:``)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, topic: str, payload: bytes) -> None:
        await self._redis.publish(f"sb:{topic}", payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[bytes]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(f"sb:{topic}")
        try:
            yield _pubsub_messages(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()


async def _pubsub_messages(pubsub: PubSub) -> AsyncIterator[bytes]:
    while True:
        message = await pubsub.get_message(timeout=None)
        if message is not None and message.get("type") == "message":
            data = message["data"]
            yield data if isinstance(data, bytes) else str(data).encode()


def create_broadcast(redis_url: str | None) -> BroadcastService:
    """Redis pub/sub when a Redis URL is set, else in-process."""
    if redis_url:
        return RedisBroadcast(Redis.from_url(redis_url))
    return MemoryBroadcast()
