"""The transactional outbox: events are written with the change they describe and relayed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.models import EventRecord

__all__ = [
    "EventDraft",
    "StoredEvent",
    "add_events",
    "set_relayed",
    "unrelayed_events",
    "write_events",
]


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event about to be written: dotted name, id-only payload."""

    name: str
    payload: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored in the outbox."""

    id: uuid.UUID
    name: str
    payload: Mapping[str, str]
    occurred_at: datetime


def write_events(conn: Connection, drafts: Sequence[EventDraft], now: datetime) -> list[StoredEvent]:
    """Write events in the caller's transaction; returns them as stored, in order."""
    if not drafts:
        return []
    events = [StoredEvent(new_id(), d.name, dict(d.payload), now) for d in drafts]
    conn.execute(
        insert(table(EventRecord)),
        [
            {"id": e.id, "name": e.name, "payload": e.payload, "occurred_at": now, "relayed_at": None}
            for e in events
        ],
    )
    return events


async def add_events(conn: AsyncConnection, drafts: Sequence[EventDraft], now: datetime) -> list[StoredEvent]:
    """:func:`write_events` on an async connection."""
    return await conn.run_sync(write_events, drafts, now)


async def unrelayed_events(
    conn: AsyncConnection, *, older_than: datetime, limit: int = 500
) -> list[StoredEvent]:
    """Events written before ``older_than`` that no one has relayed yet (a crash came between)."""
    tbl = table(EventRecord)
    query = (
        select(tbl.c.id, tbl.c.name, tbl.c.payload, tbl.c.occurred_at)
        .where(tbl.c.relayed_at.is_(None), tbl.c.occurred_at < older_than)
        .order_by(tbl.c.occurred_at, tbl.c.id)
        .limit(limit)
    )
    rows = await conn.execute(query)
    return [StoredEvent(r.id, r.name, r.payload, r.occurred_at) for r in rows]


def set_relayed(conn: Connection, ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Note that these events reached the bus."""
    if ids:
        tbl = table(EventRecord)
        conn.execute(update(tbl).where(tbl.c.id.in_(ids)).values(relayed_at=now))
