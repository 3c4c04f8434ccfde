"""The event bus and work queues: in-process by default, Redis Streams when the hub is scaled out."""

from __future__ import annotations

from typing import Any

from hub.bus.base import Bus, Event, Handler, Subscription
from hub.bus.memory import MemoryBus
from hub.bus.redis import RedisBus

__all__ = ["Bus", "Event", "Handler", "MemoryBus", "RedisBus", "Subscription", "create_bus"]


def create_bus(redis_url: str | None, **options: Any) -> Bus:
    """The bus the settings ask for: Redis Streams at ``redis_url``, or in-process when it is None."""
    if redis_url is None:
        return MemoryBus(**options)
    return RedisBus(redis_url, **options)
