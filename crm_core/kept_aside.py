"""Provider traffic kept aside: what a channel could not turn into messages, with the reason."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.models_messaging import KeptAsideRecord

__all__ = ["KeptAsideDraft", "keep_aside", "kept_aside_body", "list_kept_aside"]


@dataclass(frozen=True, slots=True)
class KeptAsideDraft:
    channel: str
    account: str
    reason: str
    body: bytes
    content_type: str
    received_at: datetime
    provider_id: str | None = None


async def keep_aside(conn: AsyncConnection, items: Sequence[KeptAsideDraft], now: datetime) -> None:
    """Store items in the caller's transaction; the same bytes redelivered on a channel are kept once."""
    if not items:
        return
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "channel": item.channel,
            "account": item.account,
            "provider_id": item.provider_id,
            "reason": item.reason[:500],
            "content_type": item.content_type[:200],
            "body": item.body,
            "digest": hashlib.sha256(item.body).hexdigest(),
            "received_at": item.received_at,
            "created_at": now,
        }
        for item in items
    ]
    tbl = table(KeptAsideRecord)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement: Any = pg_insert(tbl).on_conflict_do_nothing(index_elements=["channel", "digest"])
    elif dialect == "sqlite":
        statement = sqlite_insert(tbl).on_conflict_do_nothing(index_elements=["channel", "digest"])
    else:
        statement = insert(tbl)
    await conn.execute(statement, rows)


async def list_kept_aside(
    conn: AsyncConnection, *, channel: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest kept-aside items (without their bodies)."""
    tbl = table(KeptAsideRecord)
    query = select(
        tbl.c.id,
        tbl.c.channel,
        tbl.c.account,
        tbl.c.provider_id,
        tbl.c.reason,
        tbl.c.content_type,
        tbl.c.received_at,
        tbl.c.created_at,
    )
    if channel is not None:
        query = query.where(tbl.c.channel == channel)
    rows = await conn.execute(query.order_by(tbl.c.created_at.desc(), tbl.c.id.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]


async def kept_aside_body(conn: AsyncConnection, item_id: uuid.UUID) -> tuple[bytes, str] | None:
    """The raw body of one item and its content type."""
    tbl = table(KeptAsideRecord)
    row = (await conn.execute(select(tbl.c.body, tbl.c.content_type).where(tbl.c.id == item_id))).first()
    return None if row is None else (row.body, row.content_type)
