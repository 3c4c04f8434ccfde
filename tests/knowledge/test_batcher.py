"""The micro-batcher, driven by a deterministic fake encoder (a test of batching, not of any model)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence

import numpy as np
import pytest

from knowledge.base import Embeddings, Kind
from knowledge.batcher import MicroBatcher
from knowledge.errors import BatcherClosedError


class FakeEncoder:
    """Row i is ``[len(text), 1 if query else 0]``; records every call and the thread it ran in."""

    model_id = "fake-encoder"

    def __init__(self, *, fail_on: str | None = None, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[list[str], list[Kind]]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on
        self.gate = gate
        self.started = threading.Event()

    def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
        kinds = [kind] * len(texts) if isinstance(kind, str) else list(kind)
        self.calls.append((list(texts), kinds))
        self.threads.add(threading.current_thread().name)
        self.started.set()
        if self.gate is not None:
            self.gate.wait(timeout=5)
        if self.fail_on is not None and any(self.fail_on in text for text in texts):
            raise ValueError(f"cannot encode {self.fail_on!r}")
        rows = [[len(t), 1.0 if k == "query" else 0.0] for t, k in zip(texts, kinds, strict=True)]
        return np.array(rows, np.float32)


class Loader:
    """Counts how often the batcher asks for the encoder."""

    def __init__(self, encoder: FakeEncoder, failures: int = 0) -> None:
        self.encoder = encoder
        self.calls = 0
        self.failures = failures

    def __call__(self) -> FakeEncoder:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("model directory missing")
        return self.encoder


@pytest.fixture
async def fake() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
async def batcher(fake: FakeEncoder) -> AsyncIterator[MicroBatcher]:
    async with MicroBatcher(Loader(fake), max_batch=32, max_wait_ms=20) as b:
        yield b


async def test_concurrent_requests_share_one_encoder_call(batcher: MicroBatcher, fake: FakeEncoder) -> None:
    texts = [f"message {'x' * i}" for i in range(10)]
    rows = await asyncio.gather(*(batcher.encode(t) for t in texts))
    assert len(fake.calls) == 1 and fake.calls[0][0] == texts
    assert [int(row[0]) for row in rows] == [len(t) for t in texts]
    assert batcher.batches == 1 and batcher.backlog == 0


async def test_a_full_batch_goes_at_once_and_the_rest_follows(fake: FakeEncoder) -> None:
    async with MicroBatcher(Loader(fake), max_batch=32, max_wait_ms=50) as batcher:
        rows = await asyncio.gather(*(batcher.encode("t" * (i + 1)) for i in range(70)))
    assert [len(texts) for texts, _ in fake.calls] == [32, 32, 6]
    assert [int(row[0]) for row in rows] == list(range(1, 71))


async def test_requests_further_apart_than_the_window_make_separate_batches(
    batcher: MicroBatcher, fake: FakeEncoder
) -> None:
    await batcher.encode("first")
    await asyncio.sleep(0.05)
    await batcher.encode("second")
    assert [texts for texts, _ in fake.calls] == [["first"], ["second"]]


async def test_mixed_kinds_travel_in_one_call(batcher: MicroBatcher, fake: FakeEncoder) -> None:
    query, passage = await asyncio.gather(batcher.encode("q", "query"), batcher.encode("p", "passage"))
    assert fake.calls == [(["q", "p"], ["query", "passage"])]
    assert (query[1], passage[1]) == (1.0, 0.0)


async def test_an_unknown_kind_is_refused_at_once(batcher: MicroBatcher) -> None:
    with pytest.raises(ValueError, match="kind"):
        await batcher.encode("x", "document")  # type: ignore[arg-type]


async def test_the_model_loads_once_in_the_worker_thread(fake: FakeEncoder) -> None:
    loader = Loader(fake)
    async with MicroBatcher(loader, max_batch=4, max_wait_ms=5) as batcher:
        assert batcher.model_id is None and loader.calls == 0  # lazy: nothing loaded yet
        await asyncio.gather(*(batcher.encode(str(i)) for i in range(20)))
        assert loader.calls == 1 and batcher.model_id == "fake-encoder"
    assert all(name.startswith("knowledge-encoder") for name in fake.threads)
    assert threading.current_thread().name not in fake.threads


async def test_warm_up_loads_before_the_first_request(fake: FakeEncoder) -> None:
    loader = Loader(fake)
    async with MicroBatcher(loader) as batcher:
        assert await asyncio.gather(batcher.warm_up(), batcher.warm_up()) == ["fake-encoder"] * 2
        await batcher.encode("hello")
    assert loader.calls == 1


async def test_a_failing_batch_fails_each_of_its_waiters_and_the_next_batch_works() -> None:
    fake = FakeEncoder(fail_on="boom")
    async with MicroBatcher(Loader(fake), max_wait_ms=20) as batcher:
        results = await asyncio.gather(
            batcher.encode("fine"), batcher.encode("boom"), batcher.encode("ok"), return_exceptions=True
        )
        assert all(isinstance(r, ValueError) for r in results)
        assert (await batcher.encode("later"))[0] == 5


async def test_a_failed_load_reaches_the_waiters_and_is_retried() -> None:
    loader = Loader(FakeEncoder(), failures=1)
    async with MicroBatcher(loader, max_wait_ms=5) as batcher:
        results = await asyncio.gather(batcher.encode("a"), batcher.encode("b"), return_exceptions=True)
        assert all(isinstance(r, OSError) for r in results)
        assert (await batcher.encode("abc"))[0] == 3
    assert loader.calls == 2


async def test_backlog_counts_what_waits_behind_the_running_batch() -> None:
    gate = threading.Event()
    fake = FakeEncoder(gate=gate)
    async with MicroBatcher(Loader(fake), max_batch=2, max_wait_ms=0) as batcher:
        first = [asyncio.create_task(batcher.encode(f"first {i}")) for i in range(2)]
        await asyncio.to_thread(fake.started.wait, 5)
        later = [asyncio.create_task(batcher.encode(f"later {i}")) for i in range(5)]
        await asyncio.sleep(0)
        assert (batcher.in_flight, batcher.backlog) == (2, 5)
        gate.set()
        await asyncio.gather(*first, *later)
        assert batcher.backlog == 0 and batcher.in_flight == 0
    assert [len(texts) for texts, _ in fake.calls] == [2, 2, 2, 1]


async def test_a_cancelled_request_is_left_out_of_the_batch(batcher: MicroBatcher, fake: FakeEncoder) -> None:
    gone = asyncio.create_task(batcher.encode("never mind"))
    kept = asyncio.create_task(batcher.encode("keep me"))
    await asyncio.sleep(0)
    gone.cancel()
    assert (await kept)[0] == len("keep me")
    assert fake.calls == [(["keep me"], ["query"])]


async def test_close_fails_waiting_and_running_requests_and_refuses_new_ones() -> None:
    gate = threading.Event()
    fake = FakeEncoder(gate=gate)
    batcher = MicroBatcher(Loader(fake), max_batch=1, max_wait_ms=0)
    running = asyncio.create_task(batcher.encode("running"))
    await asyncio.to_thread(fake.started.wait, 5)
    waiting = asyncio.create_task(batcher.encode("waiting"))
    await asyncio.sleep(0)
    await batcher.close()
    gate.set()
    for task in (running, waiting):
        with pytest.raises(BatcherClosedError):
            await task
    with pytest.raises(BatcherClosedError):
        await batcher.encode("after")
    with pytest.raises(BatcherClosedError):
        await batcher.warm_up()
    await batcher.close()  # closing twice is harmless


async def test_encode_many_keeps_the_order(batcher: MicroBatcher) -> None:
    rows = await batcher.encode_many(["a", "bbb", "cc"], kind="passage")
    assert rows.shape == (3, 2)
    assert rows[:, 0].tolist() == [1, 3, 2] and rows[:, 1].tolist() == [0, 0, 0]


async def test_an_encoder_returning_the_wrong_number_of_rows_fails_the_batch() -> None:
    class Short(FakeEncoder):
        def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
            return super().encode(texts, kind)[:-1]

    async with MicroBatcher(Loader(Short()), max_wait_ms=5) as batcher:
        results = await asyncio.gather(batcher.encode("a"), batcher.encode("b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(Loader(FakeEncoder()), max_batch=0)
