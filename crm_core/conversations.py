"""Conversations and their interactions, read page by page (keyset paging, newest activity first)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from crm_core._contact_views import AnyRow
from crm_core._jsonsql import plain_fields
from crm_core.models import Contact, Conversation, Interaction
from crm_core.models_messaging import InteractionSentiment

__all__ = [
    "ConversationSummary",
    "InteractionView",
    "get_conversation",
    "list_conversations",
    "list_interactions",
]


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation with its contact's display name, as lists and headers show it."""

    id: uuid.UUID
    contact_id: uuid.UUID
    contact_name: str | None
    channel: str
    account: str
    thread_key: str
    status: str
    subject: str | None
    assignee_id: uuid.UUID | None
    team_id: uuid.UUID | None
    priority: int
    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    sentiment: float | None
    sentiment_last: float | None
    flagged_at: datetime | None
    flag_reason: str | None
    handed_over_at: datetime | None
    handover: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class InteractionView:
    """One message, call, note, status change or bot turn of a conversation."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    direction: str
    kind: str
    source_kind: str | None
    private: bool
    text: str | None
    attachments: tuple[dict[str, Any], ...]
    channel: str
    account: str
    external_message_id: str | None
    delivery_status: str | None
    delivery_error: str | None
    author_agent_id: uuid.UUID | None
    reply_to_external_id: str | None
    occurred_at: datetime
    created_at: datetime
    sentiment: dict[str, Any] | None = None
    """``{"label", "score", "model"}`` once the customer's message is scored."""


def _older_than(
    at: QueryableAttribute[datetime],
    row_id: QueryableAttribute[uuid.UUID],
    before: datetime,
    before_id: uuid.UUID | None,
) -> ColumnElement[bool]:
    """Rows strictly before the cursor; with ``before_id``, rows at the same instant with a smaller id too
    (so a page boundary between rows of one instant neither skips nor repeats them)."""
    if before_id is None:
        return at < before
    return or_(at < before, and_(at == before, row_id < before_id))


def _conversation_query() -> Select[*tuple[Any, ...]]:
    c = Conversation
    return select(
        c.id,
        c.contact_id,
        Contact.display_name.label("contact_name"),
        c.channel,
        c.account,
        c.thread_key,
        c.status,
        c.subject,
        c.assignee_id,
        c.team_id,
        c.priority,
        c.opened_at,
        c.last_message_at,
        c.closed_at,
        c.sentiment,
        c.sentiment_last,
        c.flagged_at,
        c.flag_reason,
        c.handed_over_at,
        c.handover,
    ).join(Contact, Contact.id == c.contact_id)


def _conversation(row: AnyRow) -> ConversationSummary:
    return ConversationSummary(**plain_fields(row, ConversationSummary.__dataclass_fields__))


async def list_conversations(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    contact_id: uuid.UUID | None = None,
    channel: str | None = None,
    assignee_id: uuid.UUID | None = None,
    limit: int = 50,
    before: datetime | None = None,
    before_id: uuid.UUID | None = None,
) -> list[ConversationSummary]:
    """Conversations by latest activity, newest first; the next page starts ``before`` the last one's
    ``last_message_at`` (pass its id as ``before_id`` too when several share that instant)."""
    c = Conversation
    query = _conversation_query()
    filters: list[tuple[QueryableAttribute[Any], object]] = [
        (c.status, status),
        (c.contact_id, contact_id),
        (c.channel, channel),
        (c.assignee_id, assignee_id),
    ]
    for column, wanted in filters:
        if wanted is not None:
            query = query.where(column == wanted)
    if before is not None:
        query = query.where(_older_than(c.last_message_at, c.id, before, before_id))
    query = query.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit)
    return [_conversation(row) for row in await conn.execute(query)]


async def get_conversation(conn: AsyncConnection, conversation_id: uuid.UUID) -> ConversationSummary | None:
    """The conversation with this id."""
    row = (await conn.execute(_conversation_query().where(Conversation.id == conversation_id))).one_or_none()
    return None if row is None else _conversation(row)


def _interaction(row: AnyRow) -> InteractionView:
    fields = {name: f for name, f in InteractionView.__dataclass_fields__.items() if name != "sentiment"}
    values = plain_fields(row, fields)
    values["private"] = bool(values["private"])
    values["attachments"] = tuple(values["attachments"] or ())
    if row.sentiment_label is not None:
        values["sentiment"] = {
            "label": row.sentiment_label,
            "score": row.sentiment_score,
            "model": row.sentiment_model,
        }
    return InteractionView(**values)


async def list_interactions(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    *,
    limit: int = 100,
    before: datetime | None = None,
    before_id: uuid.UUID | None = None,
) -> list[InteractionView]:
    """The newest ``limit`` interactions before the cursor, returned oldest to newest."""
    i, s = Interaction, InteractionSentiment
    columns = [getattr(i, name) for name in InteractionView.__dataclass_fields__ if name != "sentiment"]
    query = (
        select(
            *columns,
            s.label.label("sentiment_label"),
            s.score.label("sentiment_score"),
            s.model.label("sentiment_model"),
        )
        .outerjoin(s, s.interaction_id == i.id)
        .where(i.conversation_id == conversation_id)
    )
    if before is not None:
        query = query.where(_older_than(i.occurred_at, i.id, before, before_id))
    query = query.order_by(i.occurred_at.desc(), i.id.desc()).limit(limit)
    page = [_interaction(row) for row in await conn.execute(query)]
    page.reverse()
    return page
