"""Merging two contacts: one survives with everything both had; the other points at it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._contact_views import AnyRow
from crm_core._jsonsql import as_uuid
from crm_core.db import new_id
from crm_core.errors import ContactNotFound, MergeRefused
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import (
    Agreement,
    AuditEntry,
    Case,
    Contact,
    ContactIdentity,
    ContactTag,
    Conversation,
    ConversationStatus,
    CsatResponse,
    Interaction,
)

__all__ = ["MergeOutcome", "merge_contacts"]

# Everything that belongs to a contact through a contact_id column, by the name the outcome reports.
_OWNED: dict[str, type[Any]] = {
    "identities": ContactIdentity,
    "conversations": Conversation,
    "interactions": Interaction,
    "agreements": Agreement,
    "cases": Case,
    "csat_responses": CsatResponse,
}
_FILLABLE = (
    "display_name",
    "email",
    "phone",
    "verified_email",
    "verified_phone",
    "language",
    "organisation_id",
)


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """What a merge moved to the survivor, and the events it wrote (to relay after commit)."""

    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    identities: int
    conversations: int
    interactions: int
    agreements: int
    cases: int
    csat_responses: int
    tags: int
    conversations_closed: int
    filled_fields: tuple[str, ...]
    events: tuple[StoredEvent, ...]


async def _load_pair(
    conn: AsyncConnection, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> tuple[AnyRow, AnyRow]:
    if survivor_id == merged_id:
        raise MergeRefused("a contact cannot be merged into itself")
    # Lock both rows (in id order, so two opposite merges cannot deadlock); SQLite ignores FOR UPDATE
    # and serialises writers anyway.
    query = (
        select(*Contact.__table__.c)
        .where(Contact.id.in_([survivor_id, merged_id]))
        .order_by(Contact.id)
        .with_for_update()
    )
    rows = {row.id: row for row in await conn.execute(query)}
    for contact_id in (survivor_id, merged_id):
        row = rows.get(contact_id)
        if row is None:
            raise ContactNotFound(f"no contact {contact_id}")
        if row.merged_into_id is not None:
            raise MergeRefused(f"contact {contact_id} was already merged into {row.merged_into_id}")
    return rows[survivor_id], rows[merged_id]


async def _close_twin_threads(
    conn: AsyncConnection, survivor_id: uuid.UUID, merged_id: uuid.UUID, now: datetime
) -> int:
    """Close the merged contact's active conversations on a thread the survivor also has open.

    Only one active conversation may exist per (contact, channel, account, thread): moving a twin as it
    is would break that rule, so it moves closed, with its history.
    """
    twin = Conversation.__table__.alias("survivor_thread")
    has_twin = exists().where(
        twin.c.contact_id == survivor_id,
        twin.c.closed_at.is_(None),
        twin.c.channel == Conversation.channel,
        twin.c.account == Conversation.account,
        twin.c.thread_key == Conversation.thread_key,
    )
    result = await conn.execute(
        update(Conversation)
        .where(Conversation.contact_id == merged_id, Conversation.closed_at.is_(None), has_twin)
        .values(status=ConversationStatus.CLOSED.value, closed_at=now)
    )
    return int(result.rowcount)


async def _move_owned(conn: AsyncConnection, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> dict[str, int]:
    moved: dict[str, int] = {}
    for name, model in _OWNED.items():
        result = await conn.execute(
            update(model).where(model.contact_id == merged_id).values(contact_id=survivor_id)
        )
        moved[name] = int(result.rowcount)
    return moved


async def _move_tags(conn: AsyncConnection, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> int:
    """Give the survivor the merged contact's tags it lacks; returns how many it gained."""
    rows = list(
        await conn.execute(
            select(ContactTag.contact_id, ContactTag.tag_id).where(
                ContactTag.contact_id.in_([survivor_id, merged_id])
            )
        )
    )
    had = {row.tag_id for row in rows if row.contact_id == survivor_id}
    gained = sorted({row.tag_id for row in rows if row.contact_id == merged_id} - had)
    if gained:
        await conn.execute(insert(ContactTag), [{"contact_id": survivor_id, "tag_id": tag} for tag in gained])
    await conn.execute(delete(ContactTag).where(ContactTag.contact_id == merged_id))
    return len(gained)


async def _retire(conn: AsyncConnection, survivor: AnyRow, merged: AnyRow, now: datetime) -> tuple[str, ...]:
    """Fill the survivor's empty fields from the merged contact, then point the merged one (and any
    contact merged into it earlier) at the survivor, so a lookup needs one hop."""
    filled = {
        name: getattr(merged, name)
        for name in _FILLABLE
        if not getattr(survivor, name) and getattr(merged, name)
    }
    await conn.execute(update(Contact).where(Contact.id == survivor.id).values(**filled, updated_at=now))
    await conn.execute(
        update(Contact)
        .where((Contact.id == merged.id) | (Contact.merged_into_id == merged.id))
        .values(merged_into_id=survivor.id, updated_at=now)
    )
    return tuple(filled)


async def _audit(
    conn: AsyncConnection, actor: str, survivor_id: uuid.UUID, detail: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        insert(AuditEntry).values(
            id=new_id(),
            actor=actor,
            action="contact.merged",
            subject_type="contact",
            subject_id=str(survivor_id),
            detail=detail,
            occurred_at=now,
        )
    )


async def merge_contacts(
    conn: AsyncConnection, survivor_id: uuid.UUID, merged_id: uuid.UUID, *, actor: str, now: datetime
) -> MergeOutcome:
    """Move everything of ``merged_id`` to ``survivor_id`` in the caller's transaction, audited."""
    survivor, merged = await _load_pair(conn, survivor_id, merged_id)
    closed = await _close_twin_threads(conn, survivor_id, merged_id, now)
    moved = await _move_owned(conn, survivor_id, merged_id)
    moved["tags"] = await _move_tags(conn, survivor_id, merged_id)
    filled = await _retire(conn, survivor, merged, now)
    detail = {
        "merged_id": str(merged_id),
        "moved": moved,
        "conversations_closed": closed,
        "filled_fields": filled,
    }
    await _audit(conn, actor, survivor_id, detail, now)
    event = EventDraft("contact.merged", {"contact_id": str(survivor_id), "merged_id": str(merged_id)})
    events = await add_events(conn, [event], now)
    return MergeOutcome(
        survivor_id=as_uuid(survivor_id),
        merged_id=as_uuid(merged_id),
        identities=moved["identities"],
        conversations=moved["conversations"],
        interactions=moved["interactions"],
        agreements=moved["agreements"],
        cases=moved["cases"],
        csat_responses=moved["csat_responses"],
        tags=moved["tags"],
        conversations_closed=closed,
        filled_fields=filled,
        # Plain UUIDs (new_id() gives uuid6's subclass), so the outcome serializes as it is.
        events=tuple(replace(stored, id=as_uuid(stored.id)) for stored in events),
    )
