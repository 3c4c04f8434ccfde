"""Work on a conversation: assign (to an agent and/or a team), transfer, resolve, reopen, snooze.

Every change is audited and announced as an event in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.audit import audit
from crm_core.db import table
from crm_core.errors import Conflict, NotFoundError
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import Agent, Conversation, ConversationStatus, Team

__all__ = ["assign", "change_status", "wake_snoozed"]


async def _conversation(conn: AsyncConnection, conversation_id: uuid.UUID) -> Any:
    convs = table(Conversation)
    row = (
        await conn.execute(select(convs.c.status, convs.c.closed_at).where(convs.c.id == conversation_id))
    ).first()
    if row is None:
        raise NotFoundError(f"conversation {conversation_id} not found")
    return row


async def _audit(
    conn: AsyncConnection,
    actor: str,
    action: str,
    conversation_id: uuid.UUID,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    await audit(
        conn,
        actor=actor,
        action=action,
        subject_type="conversation",
        subject_id=conversation_id,
        detail=detail,
        now=now,
    )


async def assign(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    *,
    agent_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    actor: str,
    now: datetime,
    action: str = "conversation.assigned",
) -> list[StoredEvent]:
    """Give the conversation to an agent and/or a team (None leaves it unassigned)."""
    await _conversation(conn, conversation_id)
    if agent_id is not None:
        agents = table(Agent)
        active = (await conn.execute(select(agents.c.active).where(agents.c.id == agent_id))).scalar()
        if active is None:
            raise NotFoundError(f"agent {agent_id} not found")
        if not active:
            raise Conflict(f"agent {agent_id} is deactivated")
    if (
        team_id is not None
        and (await conn.execute(select(table(Team).c.id).where(table(Team).c.id == team_id))).first() is None
    ):
        raise NotFoundError(f"team {team_id} not found")
    convs = table(Conversation)
    await conn.execute(
        update(convs).where(convs.c.id == conversation_id).values(assignee_id=agent_id, team_id=team_id)
    )
    detail = {"agent_id": str(agent_id) if agent_id else None, "team_id": str(team_id) if team_id else None}
    await _audit(conn, actor, action, conversation_id, detail, now)
    return await add_events(conn, [EventDraft(action, {"conversation_id": str(conversation_id)})], now)


async def change_status(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    status: ConversationStatus,
    *,
    actor: str,
    now: datetime,
    snoozed_until: datetime | None = None,
) -> list[StoredEvent]:
    """Resolve (resolved), reopen (open) or snooze (pending until a time); a closed one stays closed."""
    current = await _conversation(conn, conversation_id)
    if current.closed_at is not None:
        raise Conflict("this conversation is closed; a new message starts a new one")
    convs = table(Conversation)
    await conn.execute(
        update(convs)
        .where(convs.c.id == conversation_id)
        .values(status=status.value, snoozed_until=snoozed_until)
    )
    name = {
        ConversationStatus.RESOLVED: "conversation.resolved",
        ConversationStatus.OPEN: "conversation.reopened",
        ConversationStatus.PENDING: "conversation.snoozed",
    }.get(status, "conversation.status_changed")
    detail = {"from": current.status, "to": status.value}
    if snoozed_until is not None:
        detail["until"] = snoozed_until.isoformat()
    await _audit(conn, actor, name, conversation_id, detail, now)
    return await add_events(conn, [EventDraft(name, {"conversation_id": str(conversation_id)})], now)


async def wake_snoozed(conn: AsyncConnection, now: datetime) -> list[StoredEvent]:
    """Reopen the snoozed conversations whose time has come."""
    convs = table(Conversation)
    woken = (
        (
            await conn.execute(
                update(convs)
                .where(convs.c.status == ConversationStatus.PENDING.value, convs.c.snoozed_until <= now)
                .values(status=ConversationStatus.OPEN.value, snoozed_until=None)
                .returning(convs.c.id)
            )
        )
        .scalars()
        .all()
    )
    drafts = [EventDraft("conversation.reopened", {"conversation_id": str(c)}) for c in woken]
    return await add_events(conn, drafts, now)
