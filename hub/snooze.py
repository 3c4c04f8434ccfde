"""Brings snoozed conversations back to the inbox when their time comes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from crm_core.db import Database
from crm_core.work import wake_snoozed
from hub.messages import utcnow
from hub.pipeline import IngestPipeline

__all__ = ["SnoozeWaker"]

log = logging.getLogger(__name__)


class SnoozeWaker:
    """Every ``every`` seconds, reopens the snoozed conversations that are due (any process may do it)."""

    def __init__(self, db: Database, pipeline: IngestPipeline, *, every: float = 30.0) -> None:
        self._db = db
        self._pipeline = pipeline
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="snooze-waker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wake(self, now: datetime | None = None) -> int:
        """Reopen what is due now; how many were."""
        async with self._db.writer.begin() as conn:
            events = await wake_snoozed(conn, now or utcnow())
        self._pipeline.notify_committed(events)
        return len(events)

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.wake()
            except Exception:  # task boundary: try again at the next tick
                log.warning("could not wake snoozed conversations", exc_info=True)
