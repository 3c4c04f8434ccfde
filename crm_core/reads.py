"""Per-agent read state: a conversation is unread for an agent once the customer wrote after the agent
last opened it; and the inbox's counts (open, pending, unread, mine, unassigned).

Only customer traffic (ingest) moves a conversation's ``last_message_at``: replies, notes and status changes
leave it, so "the customer wrote since" is ``last_message_at`` later than what the agent saw
(``read_through``), whatever time stamps the provider put on the messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from crm_core.errors import NotFoundError
from crm_core.models import Conversation, ConversationRead, ConversationStatus

__all__ = ["InboxCounts", "ReadMark", "inbox_counts", "mark_read", "unread_condition", "with_unread"]


@dataclass(frozen=True, slots=True)
class ReadMark:
    """An agent opened a conversation: it counts as read up to its activity at ``read_through``."""

    conversation_id: uuid.UUID
    agent_id: uuid.UUID
    read_at: datetime
    read_through: datetime


@dataclass(frozen=True, slots=True)
class InboxCounts:
    """The inbox header's figures; unread, mine and unassigned count open conversations only."""

    open: int
    pending: int
    unread: int
    mine: int
    unassigned: int


def unread_condition() -> ColumnElement[bool]:
    """True for a conversation row unread by the agent whose reads :func:`with_unread` joined."""
    r, c = ConversationRead, Conversation
    return or_(r.read_through.is_(None), r.read_through < c.last_message_at)


def with_unread(query: Select[*tuple[Any, ...]], reader_id: uuid.UUID | None) -> Select[*tuple[Any, ...]]:
    """``query`` (over conversations) with an ``unread`` column for the agent ``reader_id``; always False
    without one (a service token reads nothing)."""
    if reader_id is None:
        return query.add_columns(false().label("unread"))
    r = ConversationRead
    on = and_(r.agent_id == reader_id, r.conversation_id == Conversation.id)
    return query.outerjoin(r, on).add_columns(unread_condition().label("unread"))


async def mark_read(
    conn: AsyncConnection, agent_id: uuid.UUID, conversation_id: uuid.UUID, *, now: datetime
) -> ReadMark:
    """Record that the agent opened the conversation now; NotFoundError when there is no such one."""
    seen = (
        await conn.execute(select(Conversation.last_message_at).where(Conversation.id == conversation_id))
    ).scalar_one_or_none()
    if seen is None:
        raise NotFoundError(f"conversation {conversation_id} not found")
    row = {"agent_id": agent_id, "conversation_id": conversation_id, "read_at": now, "read_through": seen}
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ConversationRead).values(row)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["agent_id", "conversation_id"],
            set_={"read_at": statement.excluded.read_at, "read_through": statement.excluded.read_through},
        )
    )
    return ReadMark(conversation_id, agent_id, now, seen)


async def inbox_counts(conn: AsyncConnection, agent_id: uuid.UUID | None) -> InboxCounts:
    """Open and pending conversations, and of the open ones: unread by, assigned to the agent, unassigned.

    Each figure is an index range; unread is open minus the open ones the agent has read through, which
    walks only that agent's reads.
    """
    c, r = Conversation, ConversationRead
    is_open = c.status == ConversationStatus.OPEN.value

    def count(*where: ColumnElement[bool]) -> Any:
        return select(func.count()).select_from(c).where(*where).scalar_subquery()

    figures: dict[str, Any] = {
        "open": count(is_open),
        "pending": count(c.status == ConversationStatus.PENDING.value),
        "unassigned": count(is_open, c.assignee_id.is_(None)),
    }
    if agent_id is not None:
        figures["mine"] = count(is_open, c.assignee_id == agent_id)
        figures["read"] = (
            select(func.count())
            .select_from(r)
            .join(c, c.id == r.conversation_id)
            .where(r.agent_id == agent_id, is_open, r.read_through >= c.last_message_at)
            .scalar_subquery()
        )
    row = (await conn.execute(select(*(value.label(name) for name, value in figures.items())))).one()
    values = row._asdict()
    read = values.pop("read", values["open"])
    return InboxCounts(
        open=values["open"],
        pending=values["pending"],
        unread=values["open"] - read,
        mine=values.get("mine", 0),
        unassigned=values["unassigned"],
    )
