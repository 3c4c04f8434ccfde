"""Attachments kept in the hub's storage: inbound ones still to fetch and what came of each, and files
agents upload to send (each with a random key: the link a provider fetches it by carries it)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._jsonsql import as_uuid
from crm_core.db import new_id, table
from crm_core.models import Direction, Interaction
from crm_core.models_messaging import StoredMedia

__all__ = [
    "MediaResult",
    "PendingMedia",
    "PublicFile",
    "Upload",
    "get_upload",
    "pending_media",
    "public_upload",
    "store_media_results",
    "store_upload",
]


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


@dataclass(frozen=True, slots=True)
class Upload:
    """A file an agent uploaded to attach to a reply; ``access_key`` goes into the providers' link."""

    id: uuid.UUID
    content_type: str
    filename: str | None
    size: int
    access_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PublicFile:
    """An uploaded file's bytes, for whoever holds its link (a provider fetching a reply's attachment)."""

    content: bytes = field(repr=False)
    content_type: str
    filename: str | None


async def store_upload(
    conn: AsyncConnection,
    content: bytes,
    *,
    content_type: str,
    filename: str | None,
    uploaded_by: str,
    now: datetime,
) -> Upload:
    """Keep an uploaded file (not yet part of any interaction)."""
    upload = Upload(as_uuid(new_id()), content_type, filename, len(content), secrets.token_urlsafe(32))
    await conn.execute(
        insert(table(StoredMedia)).values(
            id=upload.id,
            interaction_id=None,
            position=0,
            content_type=content_type,
            filename=filename,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            error=None,
            access_key=upload.access_key,
            uploaded_by=uploaded_by,
            created_at=now,
        )
    )
    return upload


async def get_upload(conn: AsyncConnection, media_id: uuid.UUID) -> Upload | None:
    """The uploaded file with this id; None for an unknown id or an inbound attachment."""
    media = table(StoredMedia)
    row = (
        await conn.execute(
            select(
                media.c.id, media.c.content_type, media.c.filename, media.c.size, media.c.access_key
            ).where(media.c.id == media_id, media.c.access_key.is_not(None), media.c.content.is_not(None))
        )
    ).first()
    if row is None:
        return None
    return Upload(as_uuid(row.id), row.content_type, row.filename, int(row.size or 0), row.access_key)


async def public_upload(conn: AsyncConnection, media_id: uuid.UUID, key: str) -> PublicFile | None:
    """An uploaded file's bytes if ``key`` is its access key; None otherwise (inbound media never)."""
    media = table(StoredMedia)
    row = (
        await conn.execute(
            select(media.c.content, media.c.content_type, media.c.filename, media.c.access_key).where(
                media.c.id == media_id, media.c.access_key.is_not(None)
            )
        )
    ).first()
    if row is None or row.content is None or not hmac.compare_digest(row.access_key.encode(), key.encode()):
        return None
    return PublicFile(row.content, row.content_type, row.filename)


async def upload_contents(conn: AsyncConnection, media_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """The bytes of these uploaded files (inbound media is never sent back out), by id."""
    if not media_ids:
        return {}
    media = table(StoredMedia)
    rows = await conn.execute(
        select(media.c.id, media.c.content).where(
            media.c.id.in_(list(media_ids)), media.c.access_key.is_not(None), media.c.content.is_not(None)
        )
    )
    return {as_uuid(row.id): row.content for row in rows}
