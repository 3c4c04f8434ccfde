"""Replies and notes from agents: queued with their interaction, sent through the outbox, retried or dead.

An agent's reply is an outgoing interaction (``delivery_status`` queued) plus an outbox item, written in
one transaction with the ``interaction.created`` event. Senders claim due items with a lease, so several
hub processes never send the same reply at once, and a crashed sender's lease simply runs out.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.delivery import advances, apply_early_reports
from crm_core.errors import NotFoundError
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import (
    Agent,
    AuditEntry,
    ContactIdentity,
    Conversation,
    Direction,
    Interaction,
    InteractionKind,
)
from crm_core.models_messaging import OutboxItem, OutboxState

__all__ = [
    "DueReply",
    "QueuedReply",
    "ReplyDraft",
    "ReplyTarget",
    "claim_due",
    "list_dead",
    "mark_dead",
    "mark_retry",
    "mark_sent",
    "queue_reply",
    "replay_dead",
    "reply_target",
    "thread_references",
]


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply to a conversation goes: the recipient identity and what limits sending to it."""

    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    identity_id: uuid.UUID | None
    channel: str
    account: str
    recipient: str | None
    last_inbound_at: datetime | None
    opted_out_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """What an agent (or the hub itself) asks to send or note."""

    text: str | None
    private: bool = False
    attachments: Sequence[Mapping[str, Any]] = ()
    template: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    author_agent_id: uuid.UUID | None = None
    system: bool = False
    """A confirmation the hub sends itself (opt-out): goes out even to an opted-out identity."""
    bot: bool = False
    """Written by the bot: a bot turn in the timeline."""
    reply_to_external_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedReply:
    """The stored interaction of a reply or note; ``duplicate`` when the idempotency key was seen."""

    interaction_id: uuid.UUID
    conversation_id: uuid.UUID
    duplicate: bool
    events: Sequence[StoredEvent] = ()


@dataclass(frozen=True, slots=True)
class DueReply:
    """A claimed outbox item with everything a channel needs to send it."""

    outbox_id: uuid.UUID
    interaction_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    account: str
    recipient: str
    text: str | None
    attachments: tuple[Mapping[str, Any], ...]
    attempts: int
    author_name: str | None
    options: Mapping[str, Any] = field(default_factory=dict)
    opted_out: bool = False
    """The recipient sent STOP after this was queued: only a system confirmation may still go."""
    subject: str | None = None
    """The conversation's subject."""
    thread_key: str | None = None
    """The conversation's thread key."""
    automatic: bool = False
    """Written by the bot or sent by the system (a STOP confirmation), not by a person."""


async def reply_target(
    conn: AsyncConnection, conversation_id: uuid.UUID, identity_id: uuid.UUID | None = None
) -> ReplyTarget:
    """The identity a reply to this conversation goes to: the one given, else the conversation's own."""
    convs = table(Conversation)
    conv = (
        await conn.execute(
            select(
                convs.c.id, convs.c.contact_id, convs.c.channel, convs.c.account, convs.c.thread_key
            ).where(convs.c.id == conversation_id)
        )
    ).first()
    if conv is None:
        raise NotFoundError(f"conversation {conversation_id} not found")
    ids = table(ContactIdentity)
    query = select(ids).where(ids.c.contact_id == conv.contact_id)
    if identity_id is not None:
        query = query.where(ids.c.id == identity_id)
    else:
        # The address the conversation is on: same channel and account, the thread's own address first.
        query = query.where(ids.c.channel == conv.channel, ids.c.account == conv.account).order_by(
            (ids.c.external_id == conv.thread_key).desc(), ids.c.last_inbound_at.desc()
        )
    row = (await conn.execute(query.limit(1))).first()
    if row is None and identity_id is not None:
        raise NotFoundError(f"identity {identity_id} does not belong to this conversation's contact")
    return ReplyTarget(
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        identity_id=row.id if row else None,
        channel=row.channel if row else conv.channel,
        account=row.account if row else conv.account,
        recipient=row.external_id if row else None,
        last_inbound_at=row.last_inbound_at if row else None,
        opted_out_at=row.opted_out_at if row else None,
    )


async def _existing(conn: AsyncConnection, conversation_id: uuid.UUID, key: str) -> uuid.UUID | None:
    tbl = table(Interaction)
    found = await conn.execute(
        select(tbl.c.id).where(tbl.c.conversation_id == conversation_id, tbl.c.idempotency_key == key)
    )
    return found.scalar_one_or_none()


async def queue_reply(
    conn: AsyncConnection, target: ReplyTarget, draft: ReplyDraft, now: datetime
) -> QueuedReply:
    """Store a reply (queued, with its outbox item) or a private note, in the caller's transaction."""
    if draft.idempotency_key is not None:
        existing = await _existing(conn, target.conversation_id, draft.idempotency_key)
        if existing is not None:
            return QueuedReply(existing, target.conversation_id, duplicate=True)
    interaction_id = new_id()
    sends = not draft.private
    values = {
        "id": interaction_id,
        "conversation_id": target.conversation_id,
        "contact_id": target.contact_id,
        "direction": Direction.INTERNAL.value if draft.private else Direction.OUT.value,
        "kind": _kind(draft),
        "source_kind": "template" if draft.template else "text",
        "private": draft.private,
        "text": draft.text,
        "attachments": [dict(a) for a in draft.attachments],
        "channel": target.channel,
        "account": target.account,
        "external_message_id": None,
        "delivery_status": "queued" if sends else None,
        "delivery_error": None,
        "author_agent_id": draft.author_agent_id,
        "idempotency_key": draft.idempotency_key,
        "reply_to_external_id": draft.reply_to_external_id,
        "occurred_at": now,
        "created_at": now,
    }
    try:
        async with conn.begin_nested():
            await conn.execute(insert(table(Interaction)).values(**values))
    except IntegrityError:
        # The same key raced in from another request: answer with what it stored.
        if draft.idempotency_key is None:
            raise
        existing = await _existing(conn, target.conversation_id, draft.idempotency_key)
        if existing is None:
            raise
        return QueuedReply(existing, target.conversation_id, duplicate=True)
    if sends:
        await conn.execute(
            insert(table(OutboxItem)).values(**_outbox_row(interaction_id, target, draft, now))
        )
    events = await add_events(
        conn,
        [
            EventDraft(
                "interaction.created",
                {
                    "interaction_id": str(interaction_id),
                    "conversation_id": str(target.conversation_id),
                    "contact_id": str(target.contact_id),
                },
            )
        ],
        now,
    )
    return QueuedReply(interaction_id, target.conversation_id, duplicate=False, events=events)


def _kind(draft: ReplyDraft) -> str:
    if draft.private:
        return InteractionKind.NOTE.value
    return InteractionKind.BOT_TURN.value if draft.bot else InteractionKind.MESSAGE.value


def _outbox_row(
    interaction_id: uuid.UUID, target: ReplyTarget, draft: ReplyDraft, now: datetime
) -> dict[str, Any]:
    options: dict[str, Any] = {"system": draft.system}
    if draft.template is not None:
        options["template"] = dict(draft.template)
    if draft.reply_to_external_id is not None:
        options["reply_to_external_id"] = draft.reply_to_external_id
    return {
        "id": new_id(),
        "interaction_id": interaction_id,
        "channel": target.channel,
        "account": target.account,
        "recipient": target.recipient or "",
        "options": options,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "last_error": None,
        "provider_code": None,
        "created_at": now,
        "updated_at": now,
    }


async def claim_due(
    conn: AsyncConnection, now: datetime, *, limit: int = 32, lease: timedelta = timedelta(seconds=60)
) -> list[DueReply]:
    """Lease up to ``limit`` due items to this sender (PostgreSQL skips rows another sender holds)."""
    box, inter, agents, ids = table(OutboxItem), table(Interaction), table(Agent), table(ContactIdentity)
    convs = table(Conversation)
    query = (
        select(box.c.id)
        .where(
            box.c.state == OutboxState.PENDING.value,
            box.c.next_attempt_at <= now,
            or_(box.c.locked_until.is_(None), box.c.locked_until <= now),
        )
        .order_by(box.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = list((await conn.execute(query)).scalars())
    if not claimed:
        return []
    await conn.execute(update(box).where(box.c.id.in_(claimed)).values(locked_until=now + lease))
    rows = await conn.execute(
        select(
            box.c.id.label("outbox_id"),
            box.c.interaction_id,
            box.c.channel,
            box.c.account,
            box.c.recipient,
            box.c.options,
            box.c.attempts,
            inter.c.conversation_id,
            inter.c.text,
            inter.c.attachments,
            inter.c.kind,
            agents.c.name.label("author_name"),
            ids.c.opted_out_at,
            convs.c.subject,
            convs.c.thread_key,
        )
        .join(inter, inter.c.id == box.c.interaction_id)
        .join(convs, convs.c.id == inter.c.conversation_id)
        .outerjoin(agents, agents.c.id == inter.c.author_agent_id)
        .outerjoin(
            ids,
            and_(
                ids.c.channel == box.c.channel,
                ids.c.account == box.c.account,
                ids.c.external_id == box.c.recipient,
            ),
        )
        .where(box.c.id.in_(claimed))
        .order_by(box.c.next_attempt_at)
    )
    return [
        DueReply(
            outbox_id=row.outbox_id,
            interaction_id=row.interaction_id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            account=row.account,
            recipient=row.recipient,
            text=row.text,
            attachments=tuple(row.attachments or ()),
            attempts=row.attempts,
            author_name=row.author_name,
            options=row.options or {},
            opted_out=row.opted_out_at is not None,
            subject=row.subject,
            thread_key=row.thread_key,
            automatic=row.kind == InteractionKind.BOT_TURN.value or bool((row.options or {}).get("system")),
        )
        for row in rows
    ]


async def thread_references(conn: AsyncConnection, reply: DueReply, *, limit: int = 30) -> tuple[str, ...]:
    """Provider ids of the conversation's earlier messages on the reply's channel account, oldest first
    (at most ``limit``, the latest kept): what an email's ``References`` header lists."""
    inter = table(Interaction)
    rows = await conn.execute(
        select(inter.c.external_message_id)
        .where(
            inter.c.conversation_id == reply.conversation_id,
            inter.c.channel == reply.channel,
            inter.c.account == reply.account,
            inter.c.external_message_id.is_not(None),
            inter.c.id != reply.interaction_id,
        )
        .order_by(inter.c.occurred_at.desc(), inter.c.id.desc())
        .limit(limit)
    )
    return tuple(reversed(rows.scalars().all()))


async def _set_status(
    conn: AsyncConnection, interaction_id: uuid.UUID, status: str, now: datetime, **values: Any
) -> list[StoredEvent]:
    inter = table(Interaction)
    row = (
        await conn.execute(
            select(inter.c.delivery_status, inter.c.conversation_id).where(inter.c.id == interaction_id)
        )
    ).first()
    if row is None:
        return []
    current = row.delivery_status
    # A fast provider's status callback may already have moved it further: never move back.
    if not advances(status, current):
        status = current
    await conn.execute(
        update(inter).where(inter.c.id == interaction_id).values(delivery_status=status, **values)
    )
    return await add_events(
        conn,
        [
            EventDraft(
                "interaction.delivery_updated",
                {"interaction_id": str(interaction_id), "conversation_id": str(row.conversation_id)},
            )
        ],
        now,
    )


async def mark_sent(
    conn: AsyncConnection, item: DueReply, external_message_id: str, now: datetime
) -> list[StoredEvent]:
    """The provider accepted the reply: keep its id (delivery reports refer to it), status sent."""
    box = table(OutboxItem)
    await conn.execute(
        update(box)
        .where(box.c.id == item.outbox_id)
        .values(state=OutboxState.SENT.value, attempts=item.attempts + 1, locked_until=None, updated_at=now)
    )
    events = await _set_status(
        conn, item.interaction_id, "sent", now, external_message_id=external_message_id, delivery_error=None
    )
    return events + await conn.run_sync(apply_early_reports, item.channel, external_message_id, now)


async def mark_retry(
    conn: AsyncConnection, item: DueReply, error: str, provider_code: str | None, at: datetime, now: datetime
) -> None:
    """A temporary failure: try again at ``at``."""
    box = table(OutboxItem)
    await conn.execute(
        update(box)
        .where(box.c.id == item.outbox_id)
        .values(
            attempts=item.attempts + 1,
            next_attempt_at=at,
            locked_until=None,
            last_error=error,
            provider_code=provider_code,
            updated_at=now,
        )
    )


async def mark_dead(
    conn: AsyncConnection, item: DueReply, error: str, provider_code: str | None, now: datetime
) -> list[StoredEvent]:
    """A permanent failure (or retries exhausted): the reply fails and joins the dead-letter list."""
    box = table(OutboxItem)
    await conn.execute(
        update(box)
        .where(box.c.id == item.outbox_id)
        .values(
            state=OutboxState.DEAD.value,
            attempts=item.attempts + 1,
            locked_until=None,
            last_error=error,
            provider_code=provider_code,
            updated_at=now,
        )
    )
    detail = f"{provider_code}: {error}" if provider_code else error
    return await _set_status(conn, item.interaction_id, "failed", now, delivery_error=detail)


async def list_dead(conn: AsyncConnection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The dead-letter list, newest first."""
    box, inter = table(OutboxItem), table(Interaction)
    rows = await conn.execute(
        select(
            box.c.id,
            box.c.interaction_id,
            inter.c.conversation_id,
            box.c.channel,
            box.c.account,
            box.c.recipient,
            box.c.attempts,
            box.c.last_error,
            box.c.provider_code,
            box.c.updated_at,
            inter.c.text,
        )
        .join(inter, inter.c.id == box.c.interaction_id)
        .where(box.c.state == OutboxState.DEAD.value)
        .order_by(box.c.updated_at.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


async def replay_dead(conn: AsyncConnection, outbox_id: uuid.UUID, *, actor: str, now: datetime) -> uuid.UUID:
    """Put a dead reply back in the queue (an admin's decision, audited); returns its interaction id."""
    box, inter = table(OutboxItem), table(Interaction)
    row = (
        await conn.execute(
            select(box.c.interaction_id).where(
                and_(box.c.id == outbox_id, box.c.state == OutboxState.DEAD.value)
            )
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no dead reply {outbox_id}")
    await conn.execute(
        update(box)
        .where(box.c.id == outbox_id)
        .values(
            state=OutboxState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            updated_at=now,
        )
    )
    # The one place a status moves back: a person decided to try again.
    await conn.execute(
        update(inter)
        .where(inter.c.id == row.interaction_id)
        .values(delivery_status="queued", delivery_error=None)
    )
    await conn.execute(
        insert(table(AuditEntry)).values(
            id=new_id(),
            actor=actor,
            action="outbox.replay",
            subject_type="interaction",
            subject_id=str(row.interaction_id),
            detail={"outbox_id": str(outbox_id)},
            occurred_at=now,
        )
    )
    interaction_id: uuid.UUID = row.interaction_id
    return interaction_id
