"""The ingest pipeline: the hub's :class:`~hub.contract.Inbox`.

Channels hand it normalized messages; one writer task commits whatever queued while the previous commit
ran (group commit) and answers each caller only after its rows are durable. Events written in the same
transaction are then relayed to the bus, and marked relayed inside the writer's next transaction.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from crm_core.db import Database
from crm_core.delivery import DeliveryReport, store_delivery_reports
from crm_core.events import StoredEvent, set_relayed
from crm_core.ingest import InboundRecord, RecordOutcome, store_inbound
from hub.bus import Bus
from hub.errors import SwitchboardError
from hub.messages import DeliveryUpdate, utcnow
from hub.metrics import Metrics
from hub.relay import EVENTS_STREAM, EventRelay

__all__ = ["EVENTS_STREAM", "IngestPipeline", "StoreUnavailable"]

log = logging.getLogger(__name__)

_RETRIES = 3
_T = TypeVar("_T")


class StoreUnavailable(SwitchboardError):
    """The database cannot take writes now; the provider should retry later."""

    status = 503
    code = "store_unavailable"


@dataclass(slots=True)
class _Job:
    records: Sequence[InboundRecord] = ()
    reports: Sequence[DeliveryReport] = ()
    future: asyncio.Future[list[RecordOutcome]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IngestPipeline:
    """Stores inbound messages and delivery reports through one writer, then relays their events."""

    def __init__(self, db: Database, bus: Bus, metrics: Metrics, *, batch_max: int = 256) -> None:
        self._db = db
        self._metrics = metrics
        self._batch_max = batch_max
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._relay = EventRelay(db, bus, metrics)
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        # SQLite's one writer connection lives on this thread (see crm_core.db.Database).
        self._sqlite_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def start(self) -> None:
        """Start the writer and the relay (which first re-sends events a crash left behind)."""
        self._writer = asyncio.create_task(self._write_forever(), name="ingest-writer")
        await self._relay.start(grace=timedelta(0) if self._db.dialect == "sqlite" else None)

    async def close(self) -> None:
        """Refuse new work, finish what is queued, stop."""
        self._closing = True
        if self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await self._relay.close()
        await self._flush_relayed_marks()
        self._sqlite_thread.shutdown(wait=True)

    async def store(self, records: Sequence[InboundRecord]) -> list[RecordOutcome]:
        """Store inbound records (deduplicated); returns once they are committed."""
        if not records:
            return []
        return await self._submit(_Job(records=records))

    async def record_delivery(self, updates: Sequence[DeliveryUpdate]) -> None:
        """Store delivery reports; statuses only move forward."""
        reports = [DeliveryReport(u.channel, u.external_message_id, u.status.value, u.error) for u in updates]
        if reports:
            await self._submit(_Job(reports=reports))

    @property
    def relay(self) -> EventRelay:
        """The relay that publishes committed events (the hub hooks live fan-out onto it)."""
        return self._relay

    def notify_committed(self, events: Sequence[StoredEvent]) -> None:
        """Relay events that another transaction (an API change) wrote to the outbox."""
        self._relay.publish_later(events)

    async def _submit(self, job: _Job) -> list[RecordOutcome]:
        if self._closing:
            raise StoreUnavailable("the hub is shutting down")
        self._queue.put_nowait(job)
        return await job.future

    async def _write_forever(self) -> None:
        while True:
            try:
                job = await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                await self._flush_relayed_marks()
                continue
            # Let requests whose bytes already arrived reach the queue: bigger batches, fewer commits.
            await asyncio.sleep(0)
            jobs = [job]
            while len(jobs) < self._batch_max and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                await self._write_batch(jobs)
            except Exception:  # task boundary: one batch must never stop the writer
                log.exception("ingest writer failed on a batch of %d jobs", len(jobs))
                _fail(jobs, StoreUnavailable("could not store the message"))
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _write_batch(self, jobs: list[_Job]) -> None:
        try:
            await self._commit_with_retries(jobs)
        except StoreUnavailable as err:
            _fail(jobs, err)
        except Exception:
            if len(jobs) == 1:
                raise
            # One bad message must not sink the others: store each on its own.
            log.warning("batch of %d failed; storing its jobs one by one", len(jobs), exc_info=True)
            for job in jobs:
                try:
                    await self._commit_with_retries([job])
                except Exception as err:
                    log.exception("could not store job for %d records", len(job.records))
                    _fail([job], err if isinstance(err, SwitchboardError) else StoreUnavailable(str(err)))

    async def _commit_with_retries(self, jobs: list[_Job]) -> None:
        for attempt in range(_RETRIES):
            try:
                await self._commit(jobs)
                return
            except IntegrityError:
                # Another hub process stored the same identity, thread or message first: read again.
                if attempt == _RETRIES - 1:
                    raise
            except (OperationalError, OSError) as err:
                # Connection lost or server restarting: temporary, the provider retries on 503.
                if attempt == _RETRIES - 1:
                    raise StoreUnavailable("the database is unreachable") from err
                await asyncio.sleep(0.05 * 4**attempt)

    async def _commit(self, jobs: list[_Job]) -> None:
        records = [r for job in jobs for r in job.records]
        reports = [r for job in jobs for r in job.reports]
        marks = self._relay.take_relayed()
        started = asyncio.get_running_loop().time()
        try:
            outcomes, events = await self._run_write(_store, records, reports, marks, utcnow())
        except BaseException:
            self._relay.return_relayed(marks)
            raise
        self._metrics.commit_seconds.observe(asyncio.get_running_loop().time() - started)
        self._metrics.batch_size.observe(len(records) + len(reports))
        self._answer(jobs, outcomes)
        self._relay.publish_later(events)

    async def _run_write(self, work: Callable[..., _T], *args: Any) -> _T:
        """Run ``work(connection, *args)`` in one write transaction.

        On SQLite the whole transaction runs on the writer thread; elsewhere on the async engine.
        """
        engine = self._db.sync_writer
        if engine is None:
            async with self._db.writer.begin() as conn:
                return await conn.run_sync(work, *args)

        def in_thread() -> _T:
            assert engine is not None  # noqa: S101  (narrowed above; closures lose it)
            with engine.begin() as conn:
                return work(conn, *args)

        return await asyncio.get_running_loop().run_in_executor(self._sqlite_thread, in_thread)

    def _answer(self, jobs: list[_Job], outcomes: list[RecordOutcome]) -> None:
        position = 0
        for job in jobs:
            mine = outcomes[position : position + len(job.records)]
            position += len(job.records)
            for record, outcome in zip(job.records, mine, strict=True):
                self._metrics.ingested.labels(
                    record.channel, "duplicate" if outcome.duplicate else "stored"
                ).inc()
            if not job.future.done():
                job.future.set_result(mine)

    async def _flush_relayed_marks(self) -> None:
        marks = self._relay.take_relayed()
        if not marks:
            return
        try:
            await self._run_write(set_relayed, marks, utcnow())
        except Exception:  # task boundary: marks are retried on the next flush
            log.warning("could not mark %d events relayed; will retry", len(marks), exc_info=True)
            self._relay.return_relayed(marks)


def _store(
    conn: Connection,
    records: list[InboundRecord],
    reports: list[DeliveryReport],
    marks: list[uuid.UUID],
    now: datetime,
) -> tuple[list[RecordOutcome], list[StoredEvent]]:
    """One write transaction of the writer: a batch of messages and reports, plus relay marks."""
    outcomes: list[RecordOutcome] = []
    events: list[StoredEvent] = []
    if records:
        outcomes, events = store_inbound(conn, records, now)
    if reports:
        events += store_delivery_reports(conn, reports, now)
    set_relayed(conn, marks, now)
    return outcomes, events


def _fail(jobs: Sequence[_Job], err: BaseException) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(err)
