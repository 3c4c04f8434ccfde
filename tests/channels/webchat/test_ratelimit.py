"""Token buckets, on a clock the test moves."""

from __future__ import annotations

import pytest

from channels.webchat.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_with_the_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == pytest.approx(10.0)  # 6 a minute: one every 10 s
    clock.now += 4
    assert buckets.take("a") == pytest.approx(6.0)  # a refusal takes nothing


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    buckets.take("a"), buckets.take("a")
    clock.now += 1
    assert buckets.take("a") is None
    assert buckets.take("a") is not None
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)][:2] == [None, None]


def test_keys_are_independent() -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, clock=Clock())
    assert buckets.take("a") is None
    assert buckets.take("a") is not None
    assert buckets.take("b") is None


def test_idle_keys_are_forgotten_to_stay_bounded() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock, max_keys=10)
    for n in range(10):
        buckets.take(f"idle-{n}")
    clock.now += 60  # every bucket is full again
    buckets.take("new")
    assert len(buckets._buckets) == 1
    for n in range(30):
        buckets.take(f"busy-{n}")
    assert len(buckets._buckets) <= 10


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBuckets(per_minute=0, burst=1)
    with pytest.raises(ValueError):
        TokenBuckets(per_minute=1, burst=0)
