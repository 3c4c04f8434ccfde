"""Counting failures to store the same message, in memory, so that one bad message cannot block the rest."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from channels.email.const import FAILURES_REMEMBERED

__all__ = ["FailureCounts", "failure_reason"]

_REASON_LIMIT = 200


class FailureCounts:
    """How often each message failed; bounded: past ``limit`` keys the least recently failed is forgotten."""

    def __init__(self, limit: int = FAILURES_REMEMBERED) -> None:
        self._limit = limit
        self._counts: OrderedDict[Hashable, int] = OrderedDict()

    def add(self, key: Hashable) -> int:
        """Count one more failure of ``key``; return how many it has had."""
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def forget(self, key: Hashable) -> None:
        """The message was stored or kept aside: its failures no longer matter."""
        self._counts.pop(key, None)

    def __len__(self) -> int:
        return len(self._counts)


def failure_reason(err: BaseException, attempts: int) -> str:
    """The keep-aside reason of a message that failed to store ``attempts`` times."""
    return f"could not be stored ({attempts} attempts): {type(err).__name__}: {err}"[:_REASON_LIMIT]
