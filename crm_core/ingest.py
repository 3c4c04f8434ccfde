"""Recording inbound traffic in batches: dedup, identity, conversation, interaction and events.

One call handles a whole batch inside the caller's transaction with a fixed number of statements, so a
single writer can commit many messages at once (group commit).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, or_, select, update
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
from crm_core.models_messaging import MergeSuggestion, StoredMedia

__all__ = ["InboundRecord", "InlineFile", "RecordOutcome", "record_inbound", "store_inbound"]

_IdentityKey = tuple[str, str, str]
WINDOW_GRANULARITY = timedelta(minutes=1)
"""How far an identity's last inbound time may lag: reply windows are hours long."""
_ThreadKey = tuple[uuid.UUID, str, str, str]


@dataclass(frozen=True, slots=True)
class InlineFile:
    """An attachment that came with the message itself (an email's part): stored with the interaction."""

    position: int
    """Its index in the record's ``attachments``."""
    content_type: str
    content: bytes = field(repr=False)
    filename: str | None = None


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
    verified: bool = False
    """The channel vouches for ``phone``/``email``: a new identity joins the contact who has them."""
    opt_change: str | None = None
    """``out`` (STOP) or ``in`` (START): recorded on the identity."""
    reply_to_external_id: str | None = None
    references: tuple[str, ...] = ()
    """Provider ids of earlier messages, nearest first: the record joins the open conversation of the
    first one stored (our replies before the customer's messages) instead of going by ``thread_key``."""
    subject: str | None = None
    details: Mapping[str, Any] | None = None
    inline: tuple[InlineFile, ...] = ()
    quiet: bool = False
    """A machine notice (an auto-reply, a read receipt): kept in its conversation, but it neither reopens
    the conversation nor counts as the customer's latest activity."""

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
    last_inbound: dict[_IdentityKey, datetime | None] = field(default_factory=dict)
    """Known identities' stored last inbound time (new identities get theirs when inserted)."""


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
        select(
            tbl.c.contact_id, tbl.c.channel, tbl.c.account, tbl.c.external_id, tbl.c.last_inbound_at
        ).where(clause)
    )
    for row in rows:
        batch.contacts[(row.channel, row.account, row.external_id)] = row.contact_id
        batch.last_inbound[(row.channel, row.account, row.external_id)] = row.last_inbound_at
    unknown = [r for r in fresh if r.identity_key not in batch.contacts]
    if not unknown:
        return
    owners = _verified_owners(conn, unknown)
    new_contacts: list[dict[str, Any]] = []
    new_identities: list[dict[str, Any]] = []
    for record in unknown:
        if record.identity_key in batch.contacts:
            continue
        contact_id = _owner_of(owners, record)
        if contact_id is None:
            contact_id = new_id()
            new_contacts.append(_contact_row(contact_id, record, batch.now))
            batch.events.append(EventDraft("contact.created", {"contact_id": str(contact_id)}))
            # The next record of this batch with the same verified number joins this contact.
            if record.verified:
                owners.update({k: contact_id for k in _verified_keys(record)})
        batch.contacts[record.identity_key] = contact_id
        new_identities.append(
            {
                "id": new_id(),
                "contact_id": contact_id,
                "channel": record.channel,
                "account": record.account,
                "external_id": record.external_id,
                "created_at": batch.now,
                "last_inbound_at": _latest(fresh, record.identity_key),
                "opted_out_at": None,
            }
        )
    if new_contacts:
        conn.execute(insert(table(Contact)), new_contacts)
        _suggest_merges(conn, batch, new_contacts)
    conn.execute(insert(tbl), new_identities)


def _latest(records: Sequence[InboundRecord], key: _IdentityKey) -> datetime:
    return max(r.occurred_at for r in records if r.identity_key == key)


def _verified_keys(record: InboundRecord) -> list[str]:
    keys = []
    if record.phone:
        keys.append("phone:" + record.phone)
    if record.email:
        keys.append("email:" + record.email.casefold())
    return keys


def _owner_of(owners: dict[str, uuid.UUID], record: InboundRecord) -> uuid.UUID | None:
    if not record.verified:
        return None
    for key in _verified_keys(record):
        if key in owners:
            return owners[key]
    return None


def _verified_owners(conn: Connection, records: Sequence[InboundRecord]) -> dict[str, uuid.UUID]:
    """Contacts whose provider-verified number or address is one of these records' (one per key)."""
    phones = {r.phone for r in records if r.verified and r.phone}
    emails = {r.email.casefold() for r in records if r.verified and r.email}
    if not phones and not emails:
        return {}
    tbl = table(Contact)
    # The verified columns, never the editable ones: a number typed into a contact by hand must not pull a
    # stranger's messages into that customer's history.
    phone, email = tbl.c.verified_phone, tbl.c.verified_email
    rows = conn.execute(
        select(tbl.c.id, phone, email)
        .where(tbl.c.merged_into_id.is_(None), or_(phone.in_(phones), func.lower(email).in_(emails)))
        .order_by(tbl.c.created_at)
    )
    owners: dict[str, uuid.UUID] = {}
    for row in rows:
        if row.verified_phone in phones:
            owners.setdefault("phone:" + row.verified_phone, row.id)
        if row.verified_email and row.verified_email.casefold() in emails:
            owners.setdefault("email:" + row.verified_email.casefold(), row.id)
    return owners


def _suggest_merges(conn: Connection, batch: _Batch, new_contacts: list[dict[str, Any]]) -> None:
    """A new contact sharing an older one's display name may be the same person: suggest, never merge."""
    names = {c["display_name"].casefold(): c["id"] for c in new_contacts if c["display_name"]}
    if not names:
        return
    tbl = table(Contact)
    rows = conn.execute(
        select(tbl.c.id, tbl.c.display_name).where(
            func.lower(tbl.c.display_name).in_(names),
            tbl.c.merged_into_id.is_(None),
            tbl.c.id.not_in([c["id"] for c in new_contacts]),
        )
    )
    suggestions = []
    for row in rows:
        contact_id = names.get((row.display_name or "").casefold())
        if contact_id is None:
            continue
        suggestions.append(
            {
                "id": new_id(),
                "contact_id": contact_id,
                "candidate_id": row.id,
                "reason": "same display name",
                "created_at": batch.now,
                "resolved_at": None,
            }
        )
        batch.events.append(
            EventDraft(
                "contact.merge_suggested", {"contact_id": str(contact_id), "candidate_id": str(row.id)}
            )
        )
    if suggestions:
        conn.execute(insert(table(MergeSuggestion)), suggestions)


def _contact_row(contact_id: uuid.UUID, record: InboundRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": contact_id,
        "display_name": record.display_name,
        "email": record.email,
        "phone": record.phone,
        # Only what a provider vouched for decides where later verified traffic goes.
        "verified_email": record.email if record.verified else None,
        "verified_phone": record.phone if record.verified else None,
        "language": None,
        "organisation_id": None,
        "merged_into_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _thread_key(batch: _Batch, record: InboundRecord) -> _ThreadKey:
    return (batch.contacts[record.identity_key], record.channel, record.account, record.thread_key)


def _follow_references(conn: Connection, batch: _Batch, fresh: list[InboundRecord]) -> list[InboundRecord]:
    """Records that refer to stored messages take the thread key of those messages' open conversation.

    Only a conversation of the same contact on the same channel account is joined; of several referred
    messages, one we sent wins over one we received, then the nearest.
    """
    wanted = sorted({(r.channel, r.account, ref) for r in fresh for ref in r.references})
    if not wanted:
        return fresh
    found: dict[tuple[str, str, str], Any] = {}
    # In chunks: PostgreSQL takes at most 32,767 parameters in one statement.
    for start in range(0, len(wanted), _REFERENCE_CHUNK):
        found.update(_stored_references(conn, wanted[start : start + _REFERENCE_CHUNK]))
    joined: list[InboundRecord] = []
    for record in fresh:
        contact = batch.contacts[record.identity_key]
        candidates = [
            (row.direction != Direction.OUT.value, rank, row.thread_key)
            for rank, ref in enumerate(record.references)
            if (row := found.get((record.channel, record.account, ref))) is not None
            and row.contact_id == contact
        ]
        if candidates:
            record = replace(record, thread_key=min(candidates)[2])
        joined.append(record)
    return joined


_REFERENCE_CHUNK = 1000


def _stored_references(
    conn: Connection, wanted: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Any]:
    """The stored interactions (in open conversations) with these provider ids, by (channel, account, id)."""
    inter, conv = table(Interaction), table(Conversation)
    clause = or_(
        *(
            and_(inter.c.channel == ch, inter.c.account == acc, inter.c.external_message_id.in_(ids))
            for (ch, acc), ids in _grouped(wanted).items()
        )
    )
    rows = conn.execute(
        select(
            inter.c.channel,
            inter.c.account,
            inter.c.external_message_id,
            inter.c.direction,
            conv.c.contact_id,
            conv.c.thread_key,
        )
        .join(conv, conv.c.id == inter.c.conversation_id)
        .where(clause, conv.c.closed_at.is_(None))
    )
    return {(r.channel, r.account, r.external_message_id): r for r in rows}


def _resolve_conversations(conn: Connection, batch: _Batch, fresh: list[InboundRecord]) -> None:
    tbl = table(Conversation)
    # The earliest message of each thread: a new conversation's last activity starts there.
    wanted: dict[_ThreadKey, datetime] = {}
    subjects: dict[_ThreadKey, str] = {}
    for record in fresh:
        key = _thread_key(batch, record)
        wanted[key] = min(record.occurred_at, wanted.get(key, record.occurred_at))
        if record.subject and key not in subjects:
            subjects[key] = record.subject[:500]
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
                "subject": subjects.get(key),
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
    files: list[dict[str, Any]] = []
    touched: dict[uuid.UUID, datetime] = {}
    for record in fresh:
        conversation_id = batch.conversations[_thread_key(batch, record)]
        contact_id = batch.contacts[record.identity_key]
        interaction_id = new_id()
        batch.outcomes[record.dedup_key] = RecordOutcome(
            interaction_id, conversation_id, contact_id, duplicate=False
        )
        row = _interaction_row(interaction_id, conversation_id, contact_id, record, batch.now)
        files.extend(_inline_files(interaction_id, record, row["attachments"], batch.now))
        rows.append(row)
        if not record.quiet:
            touched[conversation_id] = max(
                record.occurred_at, touched.get(conversation_id, record.occurred_at)
            )
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
    if files:
        conn.execute(insert(table(StoredMedia)), files)
    if not touched:
        return
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


def _inline_files(
    interaction_id: uuid.UUID, record: InboundRecord, attachments: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Media rows for the record's inline files; points its attachment entries at them."""
    rows = []
    for file in record.inline:
        media_id = new_id()
        rows.append(
            {
                "id": media_id,
                "interaction_id": interaction_id,
                "position": file.position,
                "content_type": file.content_type,
                "filename": file.filename,
                "size": len(file.content),
                "sha256": hashlib.sha256(file.content).hexdigest(),
                "content": file.content,
                "error": None,
                "created_at": now,
            }
        )
        if file.position < len(attachments):
            attachments[file.position].update(
                stored_id=str(media_id), stored_url=f"/api/v1/media/{media_id}", size=len(file.content)
            )
    return rows


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
        "attachments": [dict(a) for a in record.attachments],
        "channel": record.channel,
        "account": record.account,
        "external_message_id": record.external_message_id,
        "delivery_status": None,
        "delivery_error": None,
        "author_agent_id": None,
        "idempotency_key": None,
        "reply_to_external_id": record.reply_to_external_id,
        "subject": record.subject[:500] if record.subject else None,
        "details": dict(record.details) if record.details is not None else None,
        "occurred_at": record.occurred_at,
        "created_at": now,
    }


def _touch_identities(conn: Connection, batch: _Batch, fresh: list[InboundRecord], now: datetime) -> None:
    """Open reply windows (last inbound time, never moved back) and record STOP/START."""
    latest: dict[_IdentityKey, datetime] = {}
    for record in fresh:
        key = record.identity_key
        latest[key] = max(record.occurred_at, latest.get(key, record.occurred_at))
    # New identities were inserted with it. Known ones are written only when it moves by a minute or
    # more: a window of hours needs no seconds, and a busy conversation then costs no update per message.
    stale = {
        key: at
        for key, at in latest.items()
        if key in batch.last_inbound
        and ((stored := batch.last_inbound[key]) is None or at - stored >= WINDOW_GRANULARITY)
    }
    tbl = table(ContactIdentity)
    keyed = and_(
        tbl.c.channel == bindparam("ch"),
        tbl.c.account == bindparam("acc"),
        tbl.c.external_id == bindparam("ext"),
    )
    if stale:
        later = or_(tbl.c.last_inbound_at.is_(None), tbl.c.last_inbound_at < bindparam("at"))
        conn.execute(
            update(tbl)
            .where(keyed)
            .values(last_inbound_at=case((later, bindparam("at")), else_=tbl.c.last_inbound_at)),
            [{"ch": ch, "acc": acc, "ext": ext, "at": at} for (ch, acc, ext), at in stale.items()],
        )
    changes = [r for r in fresh if r.opt_change in ("in", "out")]
    if changes:
        opted = [
            {
                "ch": r.channel,
                "acc": r.account,
                "ext": r.external_id,
                "opted": now if r.opt_change == "out" else None,
            }
            for r in changes
        ]
        conn.execute(update(tbl).where(keyed).values(opted_out_at=bindparam("opted")), opted)


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
        fresh = _follow_references(conn, batch, fresh)
        _resolve_conversations(conn, batch, fresh)
        _store_interactions(conn, batch, fresh)
        _touch_identities(conn, batch, fresh, now)
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
