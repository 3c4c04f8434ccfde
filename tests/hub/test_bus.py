"""One suite for both buses (in-process and Redis Streams), then what only Redis shows (reclaim, restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.bus import Bus, Event, MemoryBus, RedisBus, create_bus
from hub.bus.redis import encode_event
from tests.servers import require_redis

FAST: dict[str, Any] = {"retry_backoff": 0.01}
REDIS_FAST: dict[str, Any] = {**FAST, "claim_idle_ms": 200, "block_ms": 50}
WAIT_S = 5.0


def make_events(count: int, name: str = "interaction.created", start: int = 0) -> list[Event]:
    return [
        Event(name=name, payload={"interaction_id": str(i)}, id=f"ev-{i}")
        for i in range(start, start + count)
    ]


class Collector:
    """A handler that records every batch it is given, and the events of the batches it accepted."""

    def __init__(
        self, fail: Callable[[Sequence[Event]], bool] = lambda batch: False, delay: float = 0
    ) -> None:
        self.fail = fail  # decides, per batch, whether the handler raises
        self.delay = delay
        self.batches: list[list[Event]] = []
        self.handled: list[Event] = []

    async def __call__(self, batch: Sequence[Event]) -> None:
        self.batches.append(list(batch))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail(batch):
            raise RuntimeError("handler failed on purpose")
        self.handled.extend(batch)

    @property
    def ids(self) -> list[str]:
        """Ids of every event delivered, failures included."""
        return [event.id for batch in self.batches for event in batch]

    @property
    def handled_ids(self) -> list[str]:
        return [event.id for event in self.handled]


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll briefly until the condition holds; fail the test if it does not within `timeout`."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    """Like `wait_until`, for a check that must ask a server."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


async def nothing_pending(redis: aioredis.Redis, stream: str, group: str) -> bool:
    summary = await redis.xpending(stream, group)
    return bool(summary["pending"] == 0)


@pytest.fixture
def prefix() -> str:
    return f"test-bus-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def stream(prefix: str) -> str:
    return f"{prefix}:events"


@pytest.fixture
async def redis_admin(prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client for what a test does behind the bus's back; deletes the test's keys afterwards."""
    client = aioredis.Redis.from_url(require_redis(), decode_responses=True)
    yield client
    await delete_keys(client, prefix)
    await client.aclose()


async def delete_keys(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


BusFactory = Callable[..., Bus]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[BusFactory]:
    """Builds buses of one kind (with fast test options, overridable); closes them and cleans up after."""
    url = require_redis() if request.param == "redis" else None
    made: list[Bus] = []

    def make(**options: Any) -> Bus:
        defaults = REDIS_FAST if url else FAST
        made.append(create_bus(url, **{**defaults, **options}))
        return made[-1]

    yield make
    for bus in made:
        await bus.close()
    if url:
        admin = aioredis.Redis.from_url(url, decode_responses=True)
        await delete_keys(admin, prefix)
        await admin.aclose()


@pytest.fixture
def bus(make_bus: BusFactory) -> Bus:
    return make_bus()


async def test_events_arrive_in_order_in_batches(bus: Bus, stream: str) -> None:
    got = Collector()
    await bus.subscribe(stream, "g", got, batch_size=10)
    events = make_events(25)
    await bus.publish(stream, events[:5])
    await bus.publish(stream, events[5:])

    await wait_until(lambda: len(got.handled) == 25)
    assert got.handled == events
    assert all(1 <= len(batch) <= 10 for batch in got.batches)


async def test_a_batch_does_not_wait_to_fill(bus: Bus, stream: str) -> None:
    got = Collector()
    await bus.subscribe(stream, "g", got, batch_size=64)
    await bus.publish(stream, make_events(1))

    await wait_until(lambda: got.handled_ids == ["ev-0"], timeout=1.0)


async def test_every_group_gets_every_event(bus: Bus, stream: str) -> None:
    first, second = Collector(), Collector()
    await bus.subscribe(stream, "sentiment", first)
    await bus.subscribe(stream, "routing", second)
    events = make_events(10)
    await bus.publish(stream, events)

    await wait_until(lambda: len(first.handled) == 10 and len(second.handled) == 10)
    assert first.handled == second.handled == events


async def test_consumers_in_one_group_share_the_events(bus: Bus, stream: str) -> None:
    # A slow handler and batches of one, so that each consumer gets a turn.
    one, two = Collector(delay=0.005), Collector(delay=0.005)
    await bus.subscribe(stream, "workers", one, consumer="one", batch_size=1)
    await bus.subscribe(stream, "workers", two, consumer="two", batch_size=1)
    await bus.publish(stream, make_events(30))

    await wait_until(lambda: len(one.handled) + len(two.handled) == 30)
    await asyncio.sleep(0.05)  # a duplicate, if there were one, would show up here
    ids = one.handled_ids + two.handled_ids
    assert sorted(ids) == sorted(f"ev-{i}" for i in range(30))
    assert one.handled and two.handled


async def test_a_failed_batch_is_delivered_again_until_it_succeeds(bus: Bus, stream: str) -> None:
    got = Collector(fail=lambda batch: len(got.batches) == 1)
    await bus.subscribe(stream, "g", got, max_deliveries=3)
    events = make_events(3)
    await bus.publish(stream, events)

    await wait_until(lambda: len(got.handled) == 3)
    assert got.batches == [events, events]
    await bus.publish(stream, make_events(1, start=3))
    await wait_until(lambda: len(got.handled) == 4)
    assert got.ids == [e.id for e in events] * 2 + ["ev-3"]


async def test_a_poison_event_is_dead_lettered_and_later_events_flow(
    bus: Bus, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Collector()
    await bus.subscribe(f"{stream}.dead", "inspect", dead)
    got = Collector(fail=lambda batch: any(event.name == "poison" for event in batch))
    await bus.subscribe(stream, "g", got, batch_size=1, max_deliveries=3)
    poison = Event(name="poison", payload={"case_id": "7"}, id="ev-poison")
    with caplog.at_level(logging.ERROR, logger="hub.bus"):
        await bus.publish(stream, [poison, *make_events(2)])
        await wait_until(lambda: len(dead.handled) == 1 and len(got.handled) == 2)

    assert dead.handled == [poison]
    assert got.ids.count("ev-poison") == 3
    assert got.handled_ids == ["ev-0", "ev-1"]
    assert any("ev-poison" in r.getMessage() and "poison" in r.getMessage() for r in caplog.records)


async def test_a_closed_subscription_stops_and_its_group_lives_on(bus: Bus, stream: str) -> None:
    before = Collector()
    subscription = await bus.subscribe(stream, "g", before)
    await subscription.close()
    await bus.publish(stream, make_events(5))  # published while the group has no consumer

    after = Collector()
    await bus.subscribe(stream, "g", after)
    await wait_until(lambda: len(after.handled) == 5)
    assert before.batches == []


async def test_events_in_flight_at_close_go_to_another_consumer(bus: Bus, stream: str) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(batch: Sequence[Event]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    subscription = await bus.subscribe(stream, "g", stuck, consumer="stuck")
    await bus.publish(stream, make_events(2))
    async with asyncio.timeout(WAIT_S):
        await started.wait()
    await subscription.close()
    assert cancelled.is_set()

    got = Collector()
    await bus.subscribe(stream, "g", got, consumer="live")
    await wait_until(lambda: len(got.handled) == 2)
    assert got.handled_ids == ["ev-0", "ev-1"]


async def test_bus_close_cancels_running_handlers(bus: Bus, stream: str) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(batch: Sequence[Event]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await bus.subscribe(stream, "g", stuck)
    await bus.subscribe(stream, "idle", Collector())
    await bus.publish(stream, make_events(1))
    async with asyncio.timeout(WAIT_S):
        await started.wait()
    async with asyncio.timeout(WAIT_S):
        await bus.close()
    assert cancelled.is_set()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("bus:")]
    with pytest.raises(RuntimeError):
        await bus.subscribe(stream, "late", Collector())


async def test_an_unread_backlog_is_trimmed_to_about_maxlen(make_bus: BusFactory, stream: str) -> None:
    bus = make_bus(maxlen=10)
    await (await bus.subscribe(stream, "g", Collector())).close()
    await bus.publish(stream, make_events(1000))  # nobody reads: only the newest survive the trimming

    got = Collector()
    await bus.subscribe(stream, "g", got, batch_size=1000)
    await wait_until(lambda: bool(got.handled) and got.handled_ids[-1] == "ev-999")
    # Redis trims approximately (whole radix-tree nodes); the in-process bus exactly.
    assert 10 <= len(got.handled) < 1000
    assert got.handled_ids == [f"ev-{i}" for i in range(1000 - len(got.handled), 1000)]


async def test_naive_timestamps_are_refused(bus: Bus, stream: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        naive = Event(name="sla.breached", payload={}, id="ev-naive", occurred_at=datetime(2025, 1, 1))
        await bus.publish(stream, [naive])


async def test_payload_and_time_survive_the_trip(bus: Bus, stream: str) -> None:
    got = Collector()
    await bus.subscribe(stream, "g", got)
    sent = Event(
        name="conversation.assigned",
        payload={"conversation_id": "c-1", "agent_id": "a-ü"},
        id="ev-x",
        occurred_at=datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC),
    )
    await bus.publish(stream, [sent])
    await wait_until(lambda: len(got.handled) == 1)
    assert got.handled == [sent]


async def test_ping(bus: Bus) -> None:
    await bus.ping()


# Redis only: what happens across processes.


@pytest.fixture
async def redis_bus(redis_admin: aioredis.Redis) -> AsyncIterator[RedisBus]:
    bus = RedisBus(require_redis(), **REDIS_FAST)
    yield bus
    await bus.close()


async def test_redis_reclaims_what_a_dead_consumer_left(
    redis_bus: RedisBus, redis_admin: aioredis.Redis, stream: str
) -> None:
    await redis_admin.xgroup_create(stream, "g", id="$", mkstream=True)
    await redis_bus.publish(stream, make_events(3))
    read = await redis_admin.xreadgroup("g", "ghost", {stream: ">"}, count=10)
    assert len(read[0][1]) == 3  # the ghost took them and will never acknowledge
    taken_at = time.monotonic()

    got = Collector()
    await redis_bus.subscribe(stream, "g", got, consumer="live")
    await wait_until(lambda: len(got.handled) == 3)
    assert got.handled_ids == ["ev-0", "ev-1", "ev-2"]
    assert time.monotonic() - taken_at >= REDIS_FAST["claim_idle_ms"] / 1000
    await eventually(lambda: nothing_pending(redis_admin, stream, "g"))


async def test_redis_dead_letters_an_entry_that_was_delivered_too_often(
    redis_bus: RedisBus, redis_admin: aioredis.Redis, stream: str
) -> None:
    await redis_admin.xgroup_create(stream, "g", id="$", mkstream=True)
    await redis_bus.publish(stream, make_events(1))
    read = await redis_admin.xreadgroup("g", "ghost", {stream: ">"}, count=1)
    entry_id = read[0][1][0][0]
    for _ in range(3):  # as if three consumers had crashed on it in turn
        await redis_admin.xclaim(stream, "g", "ghost", 0, [entry_id])

    got = Collector()
    await redis_bus.subscribe(stream, "g", got, max_deliveries=3)

    async def dead_lettered() -> bool:
        return bool(await redis_admin.xlen(f"{stream}.dead"))

    await eventually(dead_lettered)
    [(_, fields)] = await redis_admin.xrange(f"{stream}.dead")
    assert fields["id"] == "ev-0" and fields["dead_group"] == "g" and int(fields["dead_deliveries"]) > 3
    assert got.batches == []  # never handed to the handler again
    await eventually(lambda: nothing_pending(redis_admin, stream, "g"))


async def test_redis_events_outlive_the_process_that_published_them(
    redis_admin: aioredis.Redis, stream: str
) -> None:
    first = RedisBus(require_redis(), **REDIS_FAST)
    await (await first.subscribe(stream, "g", Collector())).close()
    await first.publish(stream, make_events(4))
    await first.close()

    second = RedisBus(require_redis(), **REDIS_FAST)
    got = Collector()
    try:
        await second.subscribe(stream, "g", got)
        await wait_until(lambda: len(got.handled) == 4)
    finally:
        await second.close()
    assert got.handled_ids == ["ev-0", "ev-1", "ev-2", "ev-3"]


async def test_redis_consumer_survives_a_dropped_connection(redis_admin: aioredis.Redis, stream: str) -> None:
    client_name = f"{stream.replace(':', '-')}-victim"
    url = require_redis()
    bus = RedisBus(f"{url}{'&' if '?' in url else '?'}client_name={client_name}", **REDIS_FAST)
    got = Collector()
    try:
        await bus.subscribe(stream, "g", got)
        await bus.publish(stream, make_events(1))
        await wait_until(lambda: len(got.handled) == 1)
        # The server drops every connection of this bus, including the one blocked in XREADGROUP.
        victims = [c["id"] for c in await redis_admin.client_list() if c.get("name") == client_name]
        assert victims
        for client_id in victims:
            await redis_admin.client_kill_filter(_id=client_id)
        await bus.publish(stream, make_events(2, start=1))
        await wait_until(lambda: len(got.handled) == 3)
    finally:
        await bus.close()
    assert got.handled_ids == ["ev-0", "ev-1", "ev-2"]


class TcpProxy:
    """Forwards a local port to Redis; `cut()` drops every connection and refuses more until `resume()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def resume(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}
        pipes = {
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        }
        self._pipes |= pipes
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        writer.close()
        up_writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


async def test_redis_consumer_backs_off_while_redis_is_away_and_logs_once(
    redis_admin: aioredis.Redis, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    real = urlsplit(require_redis())
    proxy = TcpProxy(real.port or 6379)
    await proxy.resume()
    bus = RedisBus(real._replace(netloc=f"127.0.0.1:{proxy.port}").geturl(), **REDIS_FAST)
    got = Collector()
    try:
        await bus.subscribe(stream, "g", got)
        with caplog.at_level(logging.WARNING, logger="hub.bus"):
            await proxy.cut()
            await asyncio.sleep(0.6)  # long enough for several failed attempts
            await proxy.resume()
            await redis_admin.xadd(stream, encode_event(make_events(1)[0]))
            await wait_until(lambda: len(got.handled) == 1)
            await wait_until(lambda: any("recovered after" in r.getMessage() for r in caplog.records))
    finally:
        await bus.close()
        await proxy.cut()
    failed = [r for r in caplog.records if "failed; retrying" in r.getMessage()]
    assert len(failed) == 1
    assert got.handled_ids == ["ev-0"]


async def test_redis_ping_raises_when_unreachable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", socket_timeout=1.0, block_ms=100)
    try:
        with pytest.raises(RedisConnectionError):
            await bus.ping()
    finally:
        await bus.close()


def test_create_bus_picks_by_url() -> None:
    assert isinstance(create_bus(None), MemoryBus)
    assert isinstance(create_bus("redis://127.0.0.1:6379/15", claim_idle_ms=500), RedisBus)
