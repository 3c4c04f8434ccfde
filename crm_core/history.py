"""What a customer may see of their own conversation (web chat history): visible turns, oldest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.models import Agent, ContactIdentity, Conversation, Direction, Interaction

__all__ = ["VisibleTurn", "identity_history"]


@dataclass(frozen=True, slots=True)
class VisibleTurn:
    interaction_id: uuid.UUID
    direction: str
    text: str | None
    attachments: tuple[dict[str, Any], ...]
    occurred_at: datetime
    author_name: str | None
    delivery_status: str | None


async def identity_history(
    conn: AsyncConnection, channel: str, account: str, external_id: str, *, limit: int = 50
) -> list[VisibleTurn]:
    """The newest ``limit`` visible turns of the identity's active conversation on its thread."""
    ids, convs = table(ContactIdentity), table(Conversation)
    inter, agents = table(Interaction), table(Agent)
    conversation = (
        select(convs.c.id)
        .join(ids, ids.c.contact_id == convs.c.contact_id)
        .where(
            ids.c.channel == channel,
            ids.c.account == account,
            ids.c.external_id == external_id,
            convs.c.channel == channel,
            convs.c.account == account,
            convs.c.thread_key == external_id,
            convs.c.closed_at.is_(None),
        )
        .order_by(convs.c.last_message_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(
            inter.c.id,
            inter.c.direction,
            inter.c.text,
            inter.c.attachments,
            inter.c.occurred_at,
            agents.c.name,
            inter.c.delivery_status,
        )
        .outerjoin(agents, agents.c.id == inter.c.author_agent_id)
        .where(
            inter.c.conversation_id == conversation,
            inter.c.private.is_(False),
            inter.c.direction.in_([Direction.IN.value, Direction.OUT.value]),
        )
        .order_by(inter.c.occurred_at.desc(), inter.c.id.desc())
        .limit(limit)
    )
    turns = [
        VisibleTurn(
            row.id,
            row.direction,
            row.text,
            tuple(row.attachments or ()),
            row.occurred_at,
            row.name,
            row.delivery_status,
        )
        for row in rows
    ]
    turns.reverse()
    return turns
