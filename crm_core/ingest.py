"""Recording inbound traffic in batches: dedup, identity, conversation, interaction and events.

One call handles a whole batch inside the caller's transaction with a fixed number of statements, so a
single writer can commit many messages at once (group commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.events import EventDraft, StoredEvent, write_events
from crm_core.models import (
    Contact,
    ContactIdentity,
    Conversation,
    ConversationStatus,
    Direction,
    Interaction,
    InteractionKind,
)

__all__ = ["InboundRecord", "RecordOutcome", "record_inbound", "store_inbound"]

_IdentityKey = tuple[str, str, str]
_ThreadKey = tuple[uuid.UUID, str, str, str]


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One inbound message as the CRM keeps it."""

    channel: str
    account: str
    external_id: str
    external_message_id: str
    thread_key: str
    occurred_at: datetime
    source_kind: str
    text: str | None = None
    attachments: Sequence[dict[str, Any]] = ()
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    kind: InteractionKind = InteractionKind.MESSAGE

    @property
    def dedup_key(self) -> tuple[str, str, str]:
        return (self.channel, self.account, self.external_message_id)

    @property
    def identity_key(self) -> _IdentityKey:
        return (self.channel, self.account, self.external_id)


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """Where one record was stored; ``duplicate`` when it had been stored before."""

    interaction_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    duplicate: bool


@dataclass(slots=True)
class _Batch:
    records: Sequence[InboundRecord]
    now: datetime
    outcomes: dict[tuple[str, str, str], RecordOutcome] = field(default_factory=dict)
    contacts: dict[_IdentityKey, uuid.UUID] = field(default_factory=dict)
    conversations: dict[_ThreadKey, uuid.UUID] = field(default_factory=dict)
    events: list[EventDraft] = field(default_factory=list)


def _grouped(keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], set[str]]:
    groups: dict[tuple[str, str], set[str]] = {}
    for channel, account, value in keys:
        groups.setdefault((channel, account), set()).add(value)
    return groups


def _find_stored(conn: Connection, batch: _Batch) -> None:
    tbl = table(Interaction)
    groups = _grouped(r.dedup_key for r in batch.records)
    clause = or_(
        *(
            and_(tbl.c.channel == ch, tbl.c.account == acc, tbl.c.external_message_id.in_(ids))
            for (ch, acc), ids in groups.items()
        )
    )
    rows = conn.execute(
        select(
            tbl.c.id,
            tbl.c.conversation_id,
            tbl.c.contact_id,
            tbl.c.channel,
            tbl.c.account,
            tbl.c.external_message_id,
        ).where(clause)
    )
    for row in rows:
        key = (row.channel, row.account, row.external_message_id)
        batch.outcomes[key] = RecordOutcome(row.id, row.conversation_id, row.contact_id, duplicate=True)


def _resolve_contacts(conn: Connection, batch: _Batch, fresh: list[InboundRecord]) -> None:
    tbl = table(ContactIdentity)
    groups = _grouped(r.identity_key for r in fresh)
    clause = or_(
        *(
            and_(tbl.c.channel == ch, tbl.c.account == acc, tbl.c.external_id.in_(ids))
            for (ch, acc), ids in groups.items()
        )
    )
    rows = conn.execute(
        select(tbl.c.contact_id, tbl.c.channel, tbl.c.account, tbl.c.external_id).where(clause)
    )
    for row in rows:
        batch.contacts[(row.channel, row.account, row.external_id)] = row.contact_id
    new_contacts: list[dict[str, Any]] = []
    new_identities: list[dict[str, Any]] = []
    for record in fresh:
        if record.identity_key in batch.contacts:
            continue
        contact_id = new_id()
        batch.contacts[record.identity_key] = contact_id
        new_contacts.append(_contact_row(contact_id, record, batch.now))
        new_identities.append(
            {
                "id": new_id(),
                "contact_id": contact_id,
                "channel": record.channel,
                "account": record.account,
                "external_id": record.external_id,
                "created_at": batch.now,
            }
        )
        batch.events.append(EventDraft("contact.created", {"contact_id": str(contact_id)}))
    if new_contacts:
        conn.execute(insert(table(Contact)), new_contacts)
        conn.execute(insert(tbl), new_identities)


def _contact_row(contact_id: uuid.UUID, record: InboundRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": contact_id,
        "display_name": record.display_name,
        "email": record.email,
        "phone": record.phone,
        "language": None,
        "organisation_id": None,
        "merged_into_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _thread_key(batch: _Batch, record: InboundRecord) -> _ThreadKey:
    return (batch.contacts[record.identity_key], record.channel, record.account, record.thread_key)


def _resolve_conversations(conn: Connection, batch: _Batch, fresh: list[InboundRecord]) -> None:
    tbl = table(Conversation)
    # The earliest message of each thread: a new conversation's last activity starts there.
    wanted: dict[_ThreadKey, datetime] = {}
    for record in fresh:
        key = _thread_key(batch, record)
        wanted[key] = min(record.occurred_at, wanted.get(key, record.occurred_at))
    rows = conn.execute(
        select(tbl.c.id, tbl.c.contact_id, tbl.c.channel, tbl.c.account, tbl.c.thread_key).where(
            tbl.c.contact_id.in_({key[0] for key in wanted}),
            # Not closed: a resolved conversation the customer writes to again is reopened.
            tbl.c.closed_at.is_(None),
        )
    )
    for row in rows:
        key = (row.contact_id, row.channel, row.account, row.thread_key)
        if key in wanted:
            batch.conversations[key] = row.id
    new_rows: list[dict[str, Any]] = []
    for key in sorted(wanted.keys() - batch.conversations.keys(), key=str):
        conversation_id = new_id()
        batch.conversations[key] = conversation_id
        contact_id, channel, account, thread = key
        new_rows.append(
            {
                "id": conversation_id,
                "contact_id": contact_id,
                "channel": channel,
                "account": account,
                "thread_key": thread,
                "status": ConversationStatus.OPEN.value,
                "subject": None,
                "assignee_id": None,
                "team_id": None,
                "priority": 0,
                "opened_at": batch.now,
                "last_message_at": wanted[key],
                "closed_at": None,
            }
        )
        batch.events.append(
            EventDraft(
                "conversation.created",
                {"conversation_id": str(conversation_id), "contact_id": str(contact_id)},
            )
        )
    if new_rows:
        conn.execute(insert(tbl), new_rows)


def _store_interactions(conn: Connection, batch: _Batch, fresh: list[InboundRecord]) -> None:
    rows: list[dict[str, Any]] = []
    touched: dict[uuid.UUID, datetime] = {}
    for record in fresh:
        conversation_id = batch.conversations[_thread_key(batch, record)]
        contact_id = batch.contacts[record.identity_key]
        interaction_id = new_id()
        batch.outcomes[record.dedup_key] = RecordOutcome(
            interaction_id, conversation_id, contact_id, duplicate=False
        )
        rows.append(_interaction_row(interaction_id, conversation_id, contact_id, record, batch.now))
        touched[conversation_id] = max(record.occurred_at, touched.get(conversation_id, record.occurred_at))
        batch.events.append(
            EventDraft(
                "interaction.created",
                {
                    "interaction_id": str(interaction_id),
                    "conversation_id": str(conversation_id),
                    "contact_id": str(contact_id),
                },
            )
        )
    conn.execute(insert(table(Interaction)), rows)
    tbl = table(Conversation)
    conn.execute(
        update(tbl)
        .where(tbl.c.id == bindparam("cid"))
        .values(
            # A late message with an older timestamp must not move the conversation back in time.
            last_message_at=case(
                (tbl.c.last_message_at < bindparam("at"), bindparam("at")), else_=tbl.c.last_message_at
            ),
            status=ConversationStatus.OPEN.value,
        ),
        [{"cid": cid, "at": at} for cid, at in touched.items()],
    )


def _interaction_row(
    interaction_id: uuid.UUID,
    conversation_id: uuid.UUID,
    contact_id: uuid.UUID,
    record: InboundRecord,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": interaction_id,
        "conversation_id": conversation_id,
        "contact_id": contact_id,
        "direction": Direction.IN.value,
        "kind": record.kind.value,
        "source_kind": record.source_kind,
        "private": False,
        "text": record.text,
        "attachments": list(record.attachments),
        "channel": record.channel,
        "account": record.account,
        "external_message_id": record.external_message_id,
        "delivery_status": None,
        "delivery_error": None,
        "author_agent_id": None,
        "occurred_at": record.occurred_at,
        "created_at": now,
    }


def store_inbound(
    conn: Connection, records: Sequence[InboundRecord], now: datetime
) -> tuple[list[RecordOutcome], list[StoredEvent]]:
    """Store a batch in the caller's transaction; returns one outcome per record and the events written.

    A record whose (channel, account, external_message_id) is already stored, or repeats an earlier
    record of the same batch, is answered with the stored ids and ``duplicate=True``.
    """
    batch = _Batch(records=records, now=now)
    _find_stored(conn, batch)
    fresh: list[InboundRecord] = []
    seen: set[tuple[str, str, str]] = set(batch.outcomes)
    for record in records:
        if record.dedup_key not in seen:
            seen.add(record.dedup_key)
            fresh.append(record)
    if fresh:
        _resolve_contacts(conn, batch, fresh)
        _resolve_conversations(conn, batch, fresh)
        _store_interactions(conn, batch, fresh)
    events = write_events(conn, batch.events, now)
    outcomes: list[RecordOutcome] = []
    first_seen: set[tuple[str, str, str]] = set()
    for record in records:
        outcome = batch.outcomes[record.dedup_key]
        repeated = record.dedup_key in first_seen
        first_seen.add(record.dedup_key)
        if repeated and not outcome.duplicate:
            outcome = RecordOutcome(
                outcome.interaction_id, outcome.conversation_id, outcome.contact_id, duplicate=True
            )
        outcomes.append(outcome)
    return outcomes, events


async def record_inbound(
    conn: AsyncConnection, records: Sequence[InboundRecord], now: datetime
) -> tuple[list[RecordOutcome], list[StoredEvent]]:
    """:func:`store_inbound` on an async connection."""
    return await conn.run_sync(store_inbound, records, now)
