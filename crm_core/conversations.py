"""Conversations and their interactions, read page by page (keyset paging, newest activity first).

The inbox's filters (status, channel, assignee, team, tag, unread) each have an index that ends in the
paging order (``last_message_at``, ``id``), so a first page stays an ordered index scan at any size.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from crm_core._contact_views import AnyRow
from crm_core._jsonsql import plain, plain_fields
from crm_core.models import Contact, Conversation, ConversationTag, Interaction, Tag
from crm_core.models_messaging import InteractionSentiment
from crm_core.reads import unread_condition, with_unread

__all__ = [
    "NOBODY",
    "ConversationSummary",
    "InteractionView",
    "Nobody",
    "TagView",
    "find_tag",
    "get_conversation",
    "list_conversations",
    "list_interactions",
    "list_tags",
]


class Nobody(enum.Enum):
    """As an assignee or team filter: the conversations with none set."""

    NOBODY = "none"


NOBODY = Nobody.NOBODY


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
    unread: bool = False
    """The customer wrote since the reading agent last opened it (False when no agent is reading)."""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagView:
    """A tag as pickers show it."""

    id: uuid.UUID
    name: str


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
    subject: str | None
    details: dict[str, Any] | None
    """Kind-specific facts: an email's sanitized ``html`` or ``machine`` reason, a call's ``duration_s``..."""
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


def _conversation_query(reader_id: uuid.UUID | None) -> Select[*tuple[Any, ...]]:
    c = Conversation
    query = select(
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
    return with_unread(query, reader_id)


async def _tags_of(conn: AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, ...]]:
    if not ids:
        return {}
    query = (
        select(ConversationTag.conversation_id, Tag.name)
        .join(Tag, Tag.id == ConversationTag.tag_id)
        .where(ConversationTag.conversation_id.in_(ids))
        .order_by(Tag.name)
    )
    found: dict[uuid.UUID, list[str]] = {}
    for row in await conn.execute(query):
        found.setdefault(plain(row.conversation_id), []).append(row.name)
    return {key: tuple(names) for key, names in found.items()}


async def _summaries(conn: AsyncConnection, query: Select[*tuple[Any, ...]]) -> list[ConversationSummary]:
    rows = list(await conn.execute(query))
    names = [name for name in ConversationSummary.__dataclass_fields__ if name not in ("unread", "tags")]
    tags = await _tags_of(conn, [plain(row.id) for row in rows])
    summaries = []
    for row in rows:
        fields = plain_fields(row, names)
        summaries.append(
            ConversationSummary(**fields, unread=bool(row.unread), tags=tags.get(fields["id"], ()))
        )
    return summaries


def _equals_or_unset(
    column: QueryableAttribute[uuid.UUID | None], wanted: uuid.UUID | Nobody
) -> ColumnElement[bool]:
    return column.is_(None) if wanted is NOBODY else column == wanted


def _with_tag(tag_id: uuid.UUID) -> ColumnElement[bool]:
    t = ConversationTag
    return exists().where(t.conversation_id == Conversation.id, t.tag_id == tag_id)


async def list_conversations(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    contact_id: uuid.UUID | None = None,
    channel: str | None = None,
    assignee_id: uuid.UUID | Nobody | None = None,
    team_id: uuid.UUID | Nobody | None = None,
    tag_id: uuid.UUID | None = None,
    unread_only: bool = False,
    reader_id: uuid.UUID | None = None,
    limit: int = 50,
    before: datetime | None = None,
    before_id: uuid.UUID | None = None,
) -> list[ConversationSummary]:
    """Conversations by latest activity, newest first; the next page starts ``before`` the last one's
    ``last_message_at`` (pass its id as ``before_id`` too when several share that instant).

    ``NOBODY`` as assignee or team asks for the conversations without one. ``reader_id`` (an agent) sets
    each one's ``unread``; ``unread_only`` keeps the unread ones and needs ``reader_id``.
    """
    c = Conversation
    if unread_only and reader_id is None:
        raise ValueError("unread_only needs the reader_id of an agent")
    query = _conversation_query(reader_id)
    for column, wanted in ((c.status, status), (c.contact_id, contact_id), (c.channel, channel)):
        if wanted is not None:
            query = query.where(column == wanted)
    for nullable, choice in ((c.assignee_id, assignee_id), (c.team_id, team_id)):
        if choice is not None:
            query = query.where(_equals_or_unset(nullable, choice))
    if tag_id is not None:
        query = query.where(_with_tag(tag_id))
    if unread_only:
        query = query.where(unread_condition())
    if before is not None:
        query = query.where(_before_cursor(before, before_id))
    query = query.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit)
    return await _summaries(conn, query)


def _before_cursor(before: datetime, before_id: uuid.UUID | None) -> ColumnElement[bool]:
    # A row value, not an OR: both databases take it as an index range on (last_message_at, id).
    c = Conversation
    if before_id is None:
        return c.last_message_at < before
    return tuple_(c.last_message_at, c.id) < tuple_(before, before_id)


async def get_conversation(
    conn: AsyncConnection, conversation_id: uuid.UUID, *, reader_id: uuid.UUID | None = None
) -> ConversationSummary | None:
    """The conversation with this id (``unread`` for the agent ``reader_id``)."""
    found = await _summaries(conn, _conversation_query(reader_id).where(Conversation.id == conversation_id))
    return found[0] if found else None


async def find_tag(conn: AsyncConnection, name_or_id: str) -> uuid.UUID | None:
    """The id of the tag with this name (or this id); None when there is none."""
    try:
        as_id: uuid.UUID | None = uuid.UUID(name_or_id)
    except ValueError:
        as_id = None
    by_name = Tag.name == name_or_id
    query = select(Tag.id).where(by_name if as_id is None else or_(by_name, Tag.id == as_id))
    found = (await conn.execute(query.limit(1))).scalar_one_or_none()
    return None if found is None else plain(found)


async def list_tags(conn: AsyncConnection) -> list[TagView]:
    """Every tag, by name."""
    rows = await conn.execute(select(Tag.id, Tag.name).order_by(Tag.name))
    return [TagView(plain(row.id), row.name) for row in rows]


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
