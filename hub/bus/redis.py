"""The bus over Redis Streams with consumer groups: at-least-once, acknowledged, pending entries reclaimed.

Each event is one stream entry with the fields ``name``, ``id``, ``occurred_at`` (ISO 8601, tz-aware) and
``payload`` (JSON). A consumer first re-reads its own pending entries (earlier failures, or a restart under
the same name), then reclaims entries that dead consumers left idle for ``claim_idle_ms`` (XAUTOCLAIM), then
blocks for new ones. Redis counts deliveries per entry; one delivered more than ``max_deliveries`` times is
copied to ``<stream>.dead`` and acknowledged in one transaction.
See https://redis.io/docs/latest/develop/data-types/streams/ (consumer groups, XAUTOCLAIM, delivery counts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from hub.bus.base import Bus, Event, Handler, Subscription, check_subscribe_options, retry_delay

__all__ = ["RedisBus"]

logger = logging.getLogger(__name__)

_MAX_RECONNECT_DELAY = 5.0


@dataclass(slots=True)
class _Entry:
    """A stream entry handed to this consumer, and how many times Redis has delivered it so far."""

    entry_id: str
    fields: dict[str, str]
    deliveries: int


def encode_event(event: Event) -> dict[str, str]:
    """The stream entry fields for an event."""
    return {
        "name": event.name,
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": json.dumps(dict(event.payload), separators=(",", ":")),
    }


def decode_event(fields: Mapping[str, str]) -> Event:
    """The event a stream entry holds; ValueError when it is not one of ours."""
    try:
        occurred_at = datetime.fromisoformat(fields["occurred_at"])
        payload = json.loads(fields["payload"])
        name, event_id = fields["name"], fields["id"]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"malformed bus entry: {err!r}") from err
    if occurred_at.utcoffset() is None or not isinstance(payload, dict):
        raise ValueError("malformed bus entry: naive occurred_at or non-object payload")
    return Event(name=name, payload=payload, id=event_id, occurred_at=occurred_at)


def default_consumer_name() -> str:
    """hostname-pid-random: unique per process, and says where a stuck consumer ran."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _stream_fields(fields: Mapping[str, str]) -> dict[FieldT, EncodableT]:
    # xadd's parameter is a dict of the wider key type, and dicts are invariant: copy into one.
    return {key: value for key, value in fields.items()}


async def _create_group(redis: Redis, stream: str, group: str, start: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id=start, mkstream=True)
    except ResponseError as err:
        if not str(err).startswith("BUSYGROUP"):
            raise


class _Consumer:
    """One consumer in a group: reads, hands batches to the handler, acknowledges or retries."""

    def __init__(
        self,
        bus: RedisBus,
        stream: str,
        group: str,
        name: str,
        handler: Handler,
        *,
        batch_size: int,
        max_deliveries: int,
    ) -> None:
        self._bus = bus
        self._redis = bus._redis
        self.stream = stream
        self.group = group
        self.name = name
        self._handler = handler
        self._batch_size = batch_size
        self._max_deliveries = max_deliveries
        self._own_pending = True  # a restart under the same name may have left entries to finish
        self._claim_cursor = "0-0"
        self._next_claim = 0.0
        self._stopping = False

    def stop(self) -> None:
        """Make the loop end at its next turn, even if a cancellation gets lost (see ``close``)."""
        self._stopping = True

    async def run(self) -> None:
        """Consume until cancelled, backing off (and logging once) while Redis fails."""
        failures = 0
        while not self._stopping:
            try:
                await self._step()
            except Exception:  # the task boundary: Redis being away must not end the consumer
                # Whatever was not acknowledged is still in our pending list: read that first on recovery.
                self._own_pending = True
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                logger.log(
                    level, "bus consumer %s on %s failed; retrying", self.name, self.stream, exc_info=True
                )
                delay = min(0.05 * 2**failures, _MAX_RECONNECT_DELAY)
                await asyncio.sleep(delay * (0.5 + secrets.randbelow(1000) / 1000))
                continue
            if failures:
                logger.warning(
                    "bus consumer %s on %s recovered after %d failures", self.name, self.stream, failures
                )
                failures = 0

    async def _step(self) -> None:
        try:
            batch = await self._next_batch()
        except ResponseError as err:
            if not str(err).startswith("NOGROUP"):
                raise
            # The stream or group was deleted under us: recreate it, taking whatever the new stream holds.
            await _create_group(self._redis, self.stream, self.group, "0")
            return
        if batch:
            await self._process(batch)

    async def _next_batch(self) -> list[_Entry]:
        if self._own_pending:
            entries = await self._read("0", block_ms=None)
            if entries:
                return await self._with_deliveries(entries)
            self._own_pending = False
        if time.monotonic() >= self._next_claim:
            entries = await self._claim()
            if entries:
                return await self._with_deliveries(entries)
        fresh = await self._read(">", block_ms=self._bus.block_ms)
        return [_Entry(entry_id, fields, 1) for entry_id, fields in fresh]

    async def _read(self, start: str, *, block_ms: int | None) -> list[tuple[str, dict[str, str]]]:
        # redis-py types the reply as a union over protocols; this pool speaks RESP2: [[stream, entries]].
        reply: Any = await self._redis.xreadgroup(
            self.group, self.name, {self.stream: start}, count=self._batch_size, block=block_ms
        )
        return [entry for _, entries in reply or [] for entry in entries]

    async def _claim(self) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xautoclaim(
            self.stream,
            self.group,
            self.name,
            min_idle_time=self._bus.claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._batch_size,
        )
        self._claim_cursor = reply[0]
        # Scan the whole pending list in steps; once through it, rest until entries could be idle enough.
        if self._claim_cursor == "0-0":
            self._next_claim = time.monotonic() + self._bus.claim_interval
        return list(reply[1])

    async def _with_deliveries(self, entries: Sequence[tuple[str, dict[str, str]]]) -> list[_Entry]:
        """Attach Redis's delivery counts; entries no longer pending for us (claimed away) are dropped."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(self.stream, self.group, entry_id, entry_id, 1, consumername=self.name)
            replies = await pipe.execute()
        return [
            _Entry(entry_id, fields, int(pending[0]["times_delivered"]))
            for (entry_id, fields), pending in zip(entries, replies, strict=True)
            if pending
        ]

    async def _process(self, batch: list[_Entry]) -> None:
        gone, doomed, live, events = [], [], [], []
        for entry in batch:
            if not entry.fields:  # trimmed or deleted while pending: nothing left to hand over
                gone.append(entry)
            elif entry.deliveries > self._max_deliveries:  # e.g. it crashed consumers before it reached us
                doomed.append(entry)
            else:
                try:
                    events.append(decode_event(entry.fields))
                except ValueError:
                    doomed.append(entry)
                    continue
                live.append(entry)
        if gone:
            await self._redis.xack(self.stream, self.group, *(entry.entry_id for entry in gone))
        await self._bury(doomed)
        if not live:
            return
        try:
            await self._handler(events)
        except Exception:  # the handler's boundary: its failure means "deliver again", not "stop"
            logger.exception(
                "bus handler for %s group %s failed on %d event(s)", self.stream, self.group, len(live)
            )
            await self._retry_later(live)
            return
        await self._redis.xack(self.stream, self.group, *(entry.entry_id for entry in live))

    async def _retry_later(self, failed: list[_Entry]) -> None:
        await self._bury([entry for entry in failed if entry.deliveries >= self._max_deliveries])
        again = [entry for entry in failed if entry.deliveries < self._max_deliveries]
        if again:
            # They stay in our pending list; the next read of it delivers them again (and counts it).
            self._own_pending = True
            await asyncio.sleep(retry_delay(self._bus.retry_backoff, again[0].deliveries))

    async def _bury(self, entries: Sequence[_Entry]) -> None:
        """Copy entries to the dead-letter stream and acknowledge them, atomically."""
        if not entries:
            return
        dead_stream = f"{self.stream}.dead"
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                extra = {"dead_group": self.group, "dead_deliveries": str(entry.deliveries)}
                pipe.xadd(dead_stream, _stream_fields({**entry.fields, **extra}), **self._bus.trim_options)
            pipe.xack(self.stream, self.group, *(entry.entry_id for entry in entries))
            await pipe.execute()
        for entry in entries:
            logger.error(
                "bus dead-lettered event %s (%s) from %s group %s after %d deliveries",
                entry.fields.get("id"),
                entry.fields.get("name"),
                self.stream,
                self.group,
                entry.deliveries,
            )

    async def forget(self) -> None:
        """Remove this consumer from its group if it holds no pending entries (they would be lost with it)."""
        pending = await self._redis.xpending_range(
            self.stream, self.group, "-", "+", 1, consumername=self.name
        )
        if not pending:
            await self._redis.xgroup_delconsumer(self.stream, self.group, self.name)


class _RedisSubscription(Subscription):
    """A subscription backed by one consumer task that the bus owns."""

    def __init__(self, bus: RedisBus, consumer: _Consumer) -> None:
        self._bus = bus
        self._consumer = consumer
        self._task = asyncio.create_task(consumer.run(), name=f"bus:{consumer.stream}:{consumer.group}")

    async def close(self) -> None:
        """Stop the consumer; whatever it had not acknowledged stays pending for the group to reclaim."""
        # Python 3.11's asyncio.wait_for, which redis-py awaits while sending a command, can swallow a
        # cancellation (https://github.com/python/cpython/issues/86296); the stop flag then ends the loop
        # once the blocking read returns, within block_ms.
        self._consumer.stop()
        self._task.cancel()
        await asyncio.wait({self._task})
        self._bus._subscriptions.discard(self)
        try:
            await self._consumer.forget()
        except RedisError as err:
            # Tidying only: a consumer left in the group costs a line in XINFO, nothing more.
            logger.debug("bus consumer %s not removed from its group: %s", self._consumer.name, err)


class RedisBus(Bus):
    """Streams and consumer groups in Redis, shared by every hub process."""

    def __init__(
        self,
        url: str,
        *,
        maxlen: int | None = 1_000_000,
        claim_idle_ms: int = 30_000,
        block_ms: int = 2_000,
        retry_backoff: float = 0.1,
        socket_timeout: float = 10.0,
        max_connections: int | None = None,
    ) -> None:
        if block_ms / 1000 >= socket_timeout:
            raise ValueError("block_ms must be shorter than socket_timeout, or every blocking read times out")
        self.claim_idle_ms = claim_idle_ms
        # Look for idle entries twice per idle period, so a dead consumer's work waits at most 1.5 periods.
        self.claim_interval = max(claim_idle_ms / 2000, 0.01)
        self.block_ms = max(1, min(block_ms, int(self.claim_interval * 1000)))
        self.retry_backoff = retry_backoff
        self.trim_options: dict[str, Any] = {"maxlen": maxlen, "approximate": True} if maxlen else {}
        self._pool = ConnectionPool.from_url(
            url,
            decode_responses=True,
            protocol=2,  # the reply shapes parsed here are RESP2's
            socket_timeout=socket_timeout,
            socket_connect_timeout=min(socket_timeout, 5.0),
            max_connections=max_connections,
            # A short in-client retry for blips; consumers back off longer themselves; /readyz stays fast.
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        )
        self._redis = Redis(connection_pool=self._pool)
        self._subscriptions: set[_RedisSubscription] = set()
        self._closed = False

    async def publish(self, stream: str, events: Sequence[Event]) -> None:
        """Append events to a stream, in order, all or none (one MULTI/EXEC)."""
        if not events:
            return
        entries = [encode_event(event) for event in events]
        async with self._redis.pipeline(transaction=True) as pipe:
            for fields in entries:
                pipe.xadd(stream, _stream_fields(fields), **self.trim_options)
            await pipe.execute()

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
        # "$": a new group gets what is published from now on, not the stream's whole history.
        await _create_group(self._redis, stream, group, "$")
        worker = _Consumer(
            self,
            stream,
            group,
            consumer or default_consumer_name(),
            handler,
            batch_size=batch_size,
            max_deliveries=max_deliveries,
        )
        subscription = _RedisSubscription(self, worker)
        self._subscriptions.add(subscription)
        return subscription

    async def ping(self) -> None:
        """Raise (a redis ConnectionError or TimeoutError) if Redis cannot be reached."""
        await self._redis.ping()

    async def close(self) -> None:
        """Stop every subscription and close the connection pool."""
        self._closed = True
        await asyncio.gather(*(subscription.close() for subscription in list(self._subscriptions)))
        await self._redis.aclose()
        await self._pool.disconnect()
