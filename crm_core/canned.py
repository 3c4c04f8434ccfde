"""Canned responses: prepared replies an agent picks by shortcut.

Placeholders such as ``{{contact.name}}`` or ``{{agreement.end_date}}`` stay in the stored text; the console
fills them in from the conversation it is in (unknown ones stay visible).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._jsonsql import as_uuid
from crm_core.audit import audit
from crm_core.db import new_id, table
from crm_core.errors import Conflict, NotFoundError
from crm_core.models import CannedResponse

__all__ = ["CANNED_FIELDS", "CannedView", "create_canned", "delete_canned", "list_canned", "update_canned"]

CANNED_FIELDS = ("shortcut", "title", "text", "language")


@dataclass(frozen=True, slots=True)
class CannedView:
    id: uuid.UUID
    shortcut: str
    title: str
    text: str
    language: str | None
    updated_at: datetime


def _view(row: Any) -> CannedView:
    return CannedView(as_uuid(row.id), row.shortcut, row.title, row.text, row.language, row.updated_at)


async def list_canned(conn: AsyncConnection) -> list[CannedView]:
    """Every canned response, by shortcut."""
    tbl = table(CannedResponse)
    return [_view(row) for row in await conn.execute(select(tbl).order_by(tbl.c.shortcut))]


async def _shortcut_free(conn: AsyncConnection, shortcut: str, but: uuid.UUID | None = None) -> None:
    tbl = table(CannedResponse)
    query = select(tbl.c.id).where(tbl.c.shortcut == shortcut)
    if but is not None:
        query = query.where(tbl.c.id != but)
    if (await conn.execute(query)).first() is not None:
        raise Conflict(f"the shortcut {shortcut!r} is taken")


async def create_canned(
    conn: AsyncConnection,
    *,
    shortcut: str,
    title: str,
    text: str,
    language: str | None,
    actor: str,
    now: datetime,
) -> CannedView:
    """Add a canned response; Conflict when the shortcut is taken."""
    await _shortcut_free(conn, shortcut)
    item = CannedView(as_uuid(new_id()), shortcut, title, text, language, now)
    await conn.execute(
        insert(table(CannedResponse)).values(
            id=item.id,
            shortcut=shortcut,
            title=title,
            text=text,
            language=language,
            created_at=now,
            updated_at=now,
        )
    )
    await _audit(conn, actor, "canned_response.created", item.id, {"shortcut": shortcut}, now)
    return item


async def update_canned(
    conn: AsyncConnection, item_id: uuid.UUID, changes: dict[str, Any], *, actor: str, now: datetime
) -> CannedView:
    """Change some of ``shortcut``, ``title``, ``text``, ``language``."""
    values = {k: changes[k] for k in CANNED_FIELDS if k in changes}
    if "shortcut" in values:
        await _shortcut_free(conn, values["shortcut"], but=item_id)
    tbl = table(CannedResponse)
    result = await conn.execute(update(tbl).where(tbl.c.id == item_id).values(**values, updated_at=now))
    if not result.rowcount:
        raise NotFoundError(f"canned response {item_id} not found")
    await _audit(conn, actor, "canned_response.updated", item_id, {"fields": sorted(values)}, now)
    row = (await conn.execute(select(tbl).where(tbl.c.id == item_id))).one()
    return _view(row)


async def delete_canned(conn: AsyncConnection, item_id: uuid.UUID, *, actor: str, now: datetime) -> None:
    """Remove a canned response."""
    tbl = table(CannedResponse)
    if not (await conn.execute(delete(tbl).where(tbl.c.id == item_id))).rowcount:
        raise NotFoundError(f"canned response {item_id} not found")
    await _audit(conn, actor, "canned_response.deleted", item_id, {}, now)


async def _audit(
    conn: AsyncConnection, actor: str, action: str, item_id: uuid.UUID, detail: dict[str, Any], now: datetime
) -> None:
    await audit(
        conn,
        actor=actor,
        action=action,
        subject_type="canned_response",
        subject_id=item_id,
        detail=detail,
        now=now,
    )
