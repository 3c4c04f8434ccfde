"""Inbound attachments kept in the hub's storage: which are still to fetch, and what came of each."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.models import Direction, Interaction
from crm_core.models_messaging import StoredMedia

__all__ = ["MediaResult", "PendingMedia", "pending_media", "store_media_results"]


@dataclass(frozen=True, slots=True)
class PendingMedia:
    """An interaction whose attachments are not stored yet."""

    interaction_id: uuid.UUID
    channel: str
    attachments: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class MediaResult:
    """What came of one attachment: its bytes, or why not."""

    position: int
    content_type: str
    content: bytes | None = None
    filename: str | None = None
    error: str | None = None


async def pending_media(conn: AsyncConnection, interaction_ids: list[uuid.UUID]) -> list[PendingMedia]:
    """Of these interactions, the inbound ones with attachments and nothing stored for them yet."""
    inter, media = table(Interaction), table(StoredMedia)
    done = select(media.c.interaction_id).where(media.c.interaction_id.in_(interaction_ids))
    rows = await conn.execute(
        select(inter.c.id, inter.c.channel, inter.c.attachments).where(
            inter.c.id.in_(interaction_ids),
            inter.c.direction == Direction.IN.value,
            inter.c.id.not_in(done),
        )
    )
    return [PendingMedia(row.id, row.channel, tuple(row.attachments)) for row in rows if row.attachments]


async def store_media_results(
    conn: AsyncConnection, interaction_id: uuid.UUID, results: list[MediaResult], now: datetime
) -> list[dict[str, Any]]:
    """Keep the files (or errors) and point the interaction's attachments at them; returns the new list."""
    inter = table(Interaction)
    current = (
        await conn.execute(select(inter.c.attachments).where(inter.c.id == interaction_id))
    ).scalar_one()
    attachments = [dict(a) for a in current]
    rows = []
    for result in results:
        media_id = new_id()
        rows.append(
            {
                "id": media_id,
                "interaction_id": interaction_id,
                "position": result.position,
                "content_type": result.content_type,
                "filename": result.filename,
                "size": None if result.content is None else len(result.content),
                "sha256": None if result.content is None else hashlib.sha256(result.content).hexdigest(),
                "content": result.content,
                "error": result.error,
                "created_at": now,
            }
        )
        if result.position < len(attachments):
            entry = attachments[result.position]
            if result.content is not None:
                entry["stored_id"] = str(media_id)
                entry["stored_url"] = f"/api/v1/media/{media_id}"
                entry["size"] = len(result.content)
            else:
                entry["store_error"] = result.error
    if rows:
        await conn.execute(insert(table(StoredMedia)), rows)
        await conn.execute(update(inter).where(inter.c.id == interaction_id).values(attachments=attachments))
    return attachments
