"""An asyncio micro-batcher: many coroutines ask for one embedding each, one worker thread runs batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import numpy as np
from numpy.typing import NDArray

from .base import Embeddings, Kind, TextEncoder, check_kind
from .errors import BatcherClosedError

__all__ = ["MicroBatcher"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Request:
    text: str
    kind: Kind
    future: asyncio.Future[NDArray[np.float32]]
    arrived: float  # the event loop's clock


class MicroBatcher:
    """Collects ``encode`` requests for ``max_wait_ms`` or ``max_batch`` items; one encoder call a batch."""

    # The encoder is made by ``load`` in the worker thread on the first batch (or ``warm_up``), once; every
    # batch runs in that thread too, so the event loop never waits on the model.

    def __init__(
        self, load: Callable[[], TextEncoder], *, max_batch: int = 32, max_wait_ms: float = 10.0
    ) -> None:
        """Batch up to ``max_batch`` requests arriving within ``max_wait_ms`` of the first."""
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_ms >= 0")
        self._load = load
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._encoder: TextEncoder | None = None
        self._pending: deque[_Request] = deque()
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge-encoder")
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0  # batches run so far, for metrics
        self.in_flight = 0  # requests in the batch being encoded now

    @property
    def backlog(self) -> int:
        """Requests waiting for a batch (not counting the one being encoded)."""
        return len(self._pending)

    @property
    def model_id(self) -> str | None:
        """The loaded encoder's model id, or None before it is loaded."""
        return None if self._encoder is None else self._encoder.model_id

    async def encode(self, text: str, kind: Kind = "query") -> NDArray[np.float32]:
        """The embedding of ``text`` (a ``(dim,)`` float32 unit vector), computed in some batch."""
        if self._closed:
            raise BatcherClosedError("the micro-batcher is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[NDArray[np.float32]] = loop.create_future()
        self._pending.append(_Request(text, check_kind(kind), future, loop.time()))
        self._arrived.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="knowledge-micro-batcher")
        return await future

    async def encode_many(self, texts: Sequence[str], kind: Kind = "query") -> Embeddings:
        """The embeddings of ``texts`` as ``(n, dim)`` rows, batched with whatever else is waiting."""
        rows = await asyncio.gather(*(self.encode(text, kind) for text in texts))
        return np.stack(rows) if rows else np.empty((0, 0), dtype=np.float32)

    async def warm_up(self) -> str:
        """Load the encoder now (in the worker thread) rather than on the first request; its model id."""
        if self._closed:
            raise BatcherClosedError("the micro-batcher is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._loaded_model_id)

    async def close(self) -> None:
        """Stop the worker task; requests not yet answered fail with BatcherClosedError."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        _fail_all(list(self._pending), BatcherClosedError("the micro-batcher was closed"))
        self._pending.clear()
        # A batch already inside the model cannot be interrupted; the thread finishes it and exits.
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Self:
        """Use as ``async with MicroBatcher(...) as batcher``; closes on exit."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the batcher."""
        await self.close()

    def _loaded_model_id(self) -> str:
        return self._loaded().model_id

    def _loaded(self) -> TextEncoder:
        # Runs only in the single worker thread, so the model is loaded once however many ask at once.
        if self._encoder is None:
            self._encoder = self._load()
        return self._encoder

    def _encode_batch(self, texts: list[str], kinds: list[Kind]) -> Embeddings:
        return self._loaded().encode(texts, kinds)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            await self._gather_more()
            batch = self._take_batch()
            if not batch:
                continue
            self.in_flight = len(batch)
            try:
                rows = await loop.run_in_executor(
                    self._executor, self._encode_batch, [r.text for r in batch], [r.kind for r in batch]
                )
            except asyncio.CancelledError:
                _fail_all(batch, BatcherClosedError("the micro-batcher was closed mid-batch"))
                raise
            except Exception as err:
                # The task's one catch-all: this batch's callers get the error, later batches still run.
                logger.exception("encoding a batch of %d texts failed", len(batch))
                _fail_all(batch, err)
            else:
                _resolve_all(batch, rows)
            finally:
                self.in_flight = 0
                self.batches += 1

    async def _gather_more(self) -> None:
        """Wait until the batch is full or ``max_wait`` has passed since its oldest request arrived."""
        # Requests that queued up behind the previous batch have waited already: they go without delay.
        deadline = self._pending[0].arrived + self.max_wait
        while len(self._pending) < self.max_batch:
            self._arrived.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._arrived.wait()
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        while self._pending and len(batch) < self.max_batch:
            request = self._pending.popleft()
            if not request.future.done():  # its caller gave up (cancelled) while it waited
                batch.append(request)
        return batch


def _resolve_all(batch: list[_Request], rows: Embeddings) -> None:
    if len(rows) != len(batch):
        _fail_all(batch, RuntimeError(f"encoder returned {len(rows)} rows for {len(batch)} texts"))
        return
    for request, row in zip(batch, rows, strict=True):
        if not request.future.done():
            request.future.set_result(row.copy())  # a row of its own, not a view of the whole batch


def _fail_all(batch: list[_Request], err: BaseException) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(err)
