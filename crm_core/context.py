"""What enrichment needs to know about a conversation: the customer, their agreement, the latest message."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import Agreement, Case, Contact, Conversation, Direction, Interaction, InteractionKind

__all__ = [
    "MACHINE_MAIL_FOR_PEOPLE",
    "ConversationContext",
    "conversation_context",
    "machine_mail",
    "record_handover",
]


@dataclass(frozen=True, slots=True)
class ConversationContext:
    """A conversation as suggestions and the bot see it."""

    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    channel: str
    contact_name: str | None
    contact_language: str | None
    product: str | None
    agreement_end: date | None
    case_type: str | None
    assignee_id: uuid.UUID | None
    handed_over_at: datetime | None
    last_inbound_id: uuid.UUID | None
    last_inbound_text: str | None
    bot_turns_since_customer: int
    last_inbound_machine: str | None = None
    """Why the latest customer message is machine mail (``bounce``, ``auto_reply``...): nothing answers it."""


async def conversation_context(
    conn: AsyncConnection, conversation_id: uuid.UUID
) -> ConversationContext | None:
    """The conversation's context, or None when it does not exist."""
    convs, contacts, inter = table(Conversation), table(Contact), table(Interaction)
    row = (
        await conn.execute(
            select(convs, contacts.c.display_name, contacts.c.language)
            .join(contacts, contacts.c.id == convs.c.contact_id)
            .where(convs.c.id == conversation_id)
        )
    ).first()
    if row is None:
        return None
    last = (
        await conn.execute(
            select(inter.c.id, inter.c.text, inter.c.occurred_at, inter.c.details)
            .where(inter.c.conversation_id == conversation_id, inter.c.direction == Direction.IN.value)
            .order_by(inter.c.occurred_at.desc(), inter.c.id.desc())
            .limit(1)
        )
    ).first()
    bot_turns = 0
    if last is not None:
        bot_turns = (
            await conn.execute(
                select(func.count()).where(
                    inter.c.conversation_id == conversation_id,
                    inter.c.kind == InteractionKind.BOT_TURN.value,
                    inter.c.occurred_at >= last.occurred_at,
                )
            )
        ).scalar_one()
    agreement = await _agreement(conn, row.contact_id)
    return ConversationContext(
        conversation_id=row.id,
        contact_id=row.contact_id,
        channel=row.channel,
        contact_name=row.display_name,
        contact_language=row.language,
        product=None if agreement is None else agreement.product,
        agreement_end=None if agreement is None else agreement.ends_on,
        case_type=await _case_type(conn, conversation_id),
        assignee_id=row.assignee_id,
        handed_over_at=row.handed_over_at,
        last_inbound_id=None if last is None else last.id,
        last_inbound_text=None if last is None else last.text,
        bot_turns_since_customer=int(bot_turns),
        last_inbound_machine=machine_mail(None if last is None else last.details),
    )


MACHINE_MAIL_FOR_PEOPLE = frozenset({"bounce"})
"""Machine mail that still wants a person's eye (a bounce: our answer never arrived): it reopens its
conversation, and the bot hands it over; other machine mail does neither."""


def machine_mail(details: Any) -> str | None:
    """Why an interaction with these ``details`` is machine mail (``bounce``, ``auto_reply``...), or None."""
    if isinstance(details, Mapping) and details.get("machine"):
        return str(details["machine"])
    return None


async def _agreement(conn: AsyncConnection, contact_id: uuid.UUID) -> Any:
    agreements = table(Agreement)
    return (
        await conn.execute(
            select(agreements.c.product, agreements.c.ends_on)
            .where(agreements.c.contact_id == contact_id)
            .order_by(agreements.c.starts_on.desc())
            .limit(1)
        )
    ).first()


async def _case_type(conn: AsyncConnection, conversation_id: uuid.UUID) -> str | None:
    cases = table(Case)
    found = await conn.execute(
        select(cases.c.type)
        .where(cases.c.conversation_id == conversation_id, cases.c.closed_at.is_(None))
        .order_by(cases.c.opened_at.desc())
        .limit(1)
    )
    value = found.scalar_one_or_none()
    return None if value is None else str(value)


async def record_handover(
    conn: AsyncConnection, conversation_id: uuid.UUID, detail: dict[str, Any], now: datetime
) -> list[StoredEvent]:
    """The bot hands the conversation to people: why, with its scores; it stays quiet afterwards."""
    convs = table(Conversation)
    await conn.execute(
        update(convs)
        .where(convs.c.id == conversation_id, convs.c.handed_over_at.is_(None))
        .values(handed_over_at=now, handover=detail)
    )
    return await add_events(
        conn, [EventDraft("conversation.handed_over", {"conversation_id": str(conversation_id)})], now
    )
