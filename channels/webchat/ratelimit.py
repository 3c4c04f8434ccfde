"""Token buckets by key (a visitor, an IP address): pure, with the clock passed in.

Limits are per hub process: behind N processes a visitor may get up to N times the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """``burst`` tokens per key, refilled at ``per_minute`` a minute; a message or connection takes one."""

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float | None:
        """Take a token: None when allowed, else the seconds until one is free (nothing is taken)."""
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            return (1.0 - tokens) / self._rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self._max_keys:
            self._forget_idle(now)
        return None

    def _tokens(self, key: str, now: float) -> float:
        held = self._buckets.get(key)
        if held is None:
            return self._burst
        tokens, updated = held
        return min(self._burst, tokens + (now - updated) * self._rate)

    def _forget_idle(self, now: float) -> None:
        # A full bucket is the same as no bucket: forget those first, then the oldest, to stay bounded.
        for key in [k for k in self._buckets if self._tokens(k, now) >= self._burst]:
            del self._buckets[key]
        while len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
