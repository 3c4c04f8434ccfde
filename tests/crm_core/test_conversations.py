"""Conversation lists and interaction pages on SQLite and PostgreSQL: filters, keyset paging, order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.accounts import create_agent
from crm_core.conversations import get_conversation, list_conversations, list_interactions
from crm_core.db import Database
from crm_core.ingest import InboundRecord, RecordOutcome, record_inbound
from crm_core.models import Conversation, Role

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


async def _message(
    conn: AsyncConnection,
    sender: str,
    message_id: str,
    minutes: int,
    channel: str = "api",
    name: str | None = None,
) -> RecordOutcome:
    record = InboundRecord(
        channel=channel,
        account="main",
        external_id=sender,
        external_message_id=message_id,
        thread_key=sender,
        occurred_at=_at(minutes),
        source_kind="text",
        text=f"message {message_id}",
        display_name=name,
    )
    [outcome], _ = await record_inbound(conn, [record], NOW)
    return outcome


async def test_conversations_newest_activity_first_with_filters(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await create_agent(
            conn, name="Avi", email="avi@example.com", role=Role.AGENT, password=None, now=NOW
        )
        noa = await _message(conn, "noa", "n1", 5, name="נועה לוי")
        sms = await _message(conn, "+972525550142", "s1", 30, channel="twilio_sms", name="Dana")
        old = await _message(conn, "omar", "o1", 1, name="عمر")
        await conn.execute(
            update(Conversation).where(Conversation.id == sms.conversation_id).values(assignee_id=agent.id)
        )
        await conn.execute(
            update(Conversation).where(Conversation.id == old.conversation_id).values(status="resolved")
        )
    async with database.reader.connect() as conn:
        everything = await list_conversations(conn)
        open_only = await list_conversations(conn, status="open")
        by_channel = await list_conversations(conn, channel="twilio_sms")
        by_contact = await list_conversations(conn, contact_id=noa.contact_id)
        by_assignee = await list_conversations(conn, assignee_id=agent.id)
        shown = await get_conversation(conn, noa.conversation_id)
        missing = await get_conversation(conn, uuid.uuid4())
    assert [c.id for c in everything] == [sms.conversation_id, noa.conversation_id, old.conversation_id]
    assert [c.contact_name for c in everything] == ["Dana", "נועה לוי", "عمر"]
    assert [c.id for c in open_only] == [sms.conversation_id, noa.conversation_id]
    assert [c.id for c in by_channel] == [c.id for c in by_assignee] == [sms.conversation_id]
    assert [c.id for c in by_contact] == [noa.conversation_id]
    assert shown is not None and (shown.contact_id, shown.channel, shown.thread_key) == (
        noa.contact_id,
        "api",
        "noa",
    )
    assert shown.last_message_at == _at(5) and shown.status == "open" and shown.closed_at is None
    assert missing is None
    assert orjson.dumps(everything)  # plain values: no driver UUID types


async def test_conversation_pages_follow_before_without_gaps(database: Database) -> None:
    async with database.writer.begin() as conn:
        ids = [(await _message(conn, f"user{n}", f"m{n}", n)).conversation_id for n in range(5)]
        # Two conversations last active at the same instant: the id breaks the tie.
        await conn.execute(
            update(Conversation).where(Conversation.id.in_(ids[:2])).values(last_message_at=_at(0))
        )
    newest_first = [ids[4], ids[3], ids[2], ids[1], ids[0]]
    async with database.reader.connect() as conn:
        first = await list_conversations(conn, limit=2)
        second = await list_conversations(
            conn, limit=2, before=first[-1].last_message_at, before_id=first[-1].id
        )
        third = await list_conversations(
            conn, limit=2, before=second[-1].last_message_at, before_id=second[-1].id
        )
        third_by_time = await list_conversations(conn, limit=2, before=second[-1].last_message_at)
    assert [c.id for c in first + second + third] == newest_first
    # Without the id, a cursor between two rows of one instant skips the second: why before_id exists.
    assert third_by_time == []


async def test_interaction_pages_are_oldest_to_newest_within_the_page(database: Database) -> None:
    async with database.writer.begin() as conn:
        outcomes = [await _message(conn, "noa", f"m{n}", n) for n in range(7)]
        await _message(conn, "someone-else", "x1", 3)
    conversation = outcomes[0].conversation_id
    expected = [o.interaction_id for o in outcomes]
    async with database.reader.connect() as conn:
        newest = await list_interactions(conn, conversation, limit=3)
        middle = await list_interactions(conn, conversation, limit=3, before=newest[0].occurred_at)
        oldest = await list_interactions(conn, conversation, limit=3, before=middle[0].occurred_at)
        everything = await list_interactions(conn, conversation)
    assert [i.id for i in newest] == expected[4:]
    assert [i.id for i in middle] == expected[1:4]
    assert [i.id for i in oldest] == expected[:1]
    assert [i.id for i in everything] == expected
    first = everything[0]
    assert (first.direction, first.kind, first.text, first.private, first.attachments) == (
        "in", "message", "message m0", False, (),
    )  # fmt: skip
    assert first.occurred_at == NOW and first.external_message_id == "m0" and first.source_kind == "text"
    assert orjson.dumps(everything)
