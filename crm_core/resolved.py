"""Resolved conversations as past cases: what the customer asked and how it was solved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.models import Contact, Conversation, ConversationStatus, Direction, Interaction

__all__ = ["ResolvedConversation", "resolved_since"]

QUESTION_TURNS = 3
RESOLUTION_TURNS = 2


@dataclass(frozen=True, slots=True)
class ResolvedConversation:
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    language: str | None
    question: str
    resolution: str
    resolved_at: datetime


async def resolved_since(
    conn: AsyncConnection, after: datetime | None, *, limit: int = 200
) -> list[ResolvedConversation]:
    """Conversations resolved or closed after ``after``, oldest first, with both sides to learn from."""
    convs, contacts = table(Conversation), table(Contact)
    query = (
        select(convs.c.id, convs.c.contact_id, convs.c.last_message_at, contacts.c.language)
        .join(contacts, contacts.c.id == convs.c.contact_id)
        .where(convs.c.status.in_([ConversationStatus.RESOLVED.value, ConversationStatus.CLOSED.value]))
        .order_by(convs.c.last_message_at, convs.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(convs.c.last_message_at > after)
    found = []
    for row in await conn.execute(query):
        question, resolution = await _turns(conn, row.id)
        if question and resolution:
            found.append(
                ResolvedConversation(
                    row.id, row.contact_id, row.language, question, resolution, row.last_message_at
                )
            )
    return found


async def _turns(conn: AsyncConnection, conversation_id: uuid.UUID) -> tuple[str, str]:
    inter = table(Interaction)
    rows = (
        await conn.execute(
            select(inter.c.direction, inter.c.text)
            .where(inter.c.conversation_id == conversation_id, inter.c.text.is_not(None))
            .order_by(inter.c.occurred_at, inter.c.id)
        )
    ).all()
    asked = [r.text for r in rows if r.direction == Direction.IN.value][:QUESTION_TURNS]
    # The agents' last words (notes included: "replaced the router") say how it was solved.
    answered = [r.text for r in rows if r.direction != Direction.IN.value][-RESOLUTION_TURNS:]
    return "\n".join(asked), "\n".join(answered)
