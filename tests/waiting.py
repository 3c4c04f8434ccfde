"""Waiting for background work (outbox, media, relays) in tests: poll until true, fail on timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["eventually"]

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "") -> T:
    """Call ``check`` until it returns something truthy and return that; fail after ``timeout`` seconds."""
    last: T | None = None
    try:
        async with asyncio.timeout(timeout):
            while not (last := await check()):
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or check!r}; last saw {last!r}") from None
    return last
