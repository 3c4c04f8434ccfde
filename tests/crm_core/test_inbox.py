"""The inbox on SQLite and PostgreSQL: every filter and their combinations, per-agent unread state, counts,
and keyset paging under filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.accounts import create_agent
from crm_core.conversations import NOBODY, find_tag, get_conversation, list_conversations, list_tags
from crm_core.db import Database, new_id
from crm_core.errors import NotFoundError
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import Conversation, ConversationStatus, ConversationTag, Role, Tag, Team
from crm_core.outbox import ReplyDraft, queue_reply, reply_target
from crm_core.reads import InboxCounts, inbox_counts, mark_read
from crm_core.work import change_status

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


async def _write(
    conn: AsyncConnection, sender: str, minutes: float, channel: str = "api", message_id: str | None = None
) -> uuid.UUID:
    """The customer ``sender`` writes (stamped ``minutes`` after NOW); the conversation's id."""
    record = InboundRecord(
        channel=channel,
        account="main",
        external_id=sender,
        external_message_id=message_id or uuid.uuid4().hex,
        thread_key=sender,
        occurred_at=_at(minutes),
        source_kind="text",
        text=f"from {sender}",
        display_name=sender.title(),
    )
    [outcome], _ = await record_inbound(conn, [record], NOW)
    return outcome.conversation_id


async def _agent(conn: AsyncConnection, name: str) -> uuid.UUID:
    agent = await create_agent(
        conn, name=name, email=f"{name}@example.com", role=Role.AGENT, password=None, now=NOW
    )
    return agent.id


async def _set(conn: AsyncConnection, conversation_id: uuid.UUID, **values: object) -> None:
    await conn.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))


@dataclass
class Floor:
    """Four conversations that differ in every filtered field, and who and what they refer to."""

    avi: uuid.UUID
    ben: uuid.UUID
    sales: uuid.UUID
    billing: uuid.UUID
    vip: uuid.UUID
    debt: uuid.UUID
    a: uuid.UUID
    b: uuid.UUID
    c: uuid.UUID
    d: uuid.UUID


async def _floor(database: Database) -> Floor:
    """a: api, open, Avi, Sales, vip · b: sms, open, nobody, no team, debt · c: api, pending, Ben, Billing
    · d: email, resolved, nobody, Sales, vip + debt. Newest activity first: d, c, b, a."""
    async with database.writer.begin() as conn:
        avi, ben = await _agent(conn, "avi"), await _agent(conn, "ben")
        sales, billing, vip, debt = new_id(), new_id(), new_id(), new_id()
        await conn.execute(insert(Team), [{"id": sales, "name": "Sales"}, {"id": billing, "name": "Billing"}])
        await conn.execute(insert(Tag), [{"id": vip, "name": "vip"}, {"id": debt, "name": "debt"}])
        a = await _write(conn, "alma", 1)
        b = await _write(conn, "+972525550100", 2, channel="twilio_sms")
        c = await _write(conn, "carmel", 3)
        d = await _write(conn, "dana@example.com", 4, channel="email")
        await _set(conn, a, assignee_id=avi, team_id=sales)
        await _set(conn, c, assignee_id=ben, team_id=billing, status="pending")
        await _set(conn, d, team_id=sales, status="resolved")
        tags = [(a, vip), (b, debt), (d, vip), (d, debt)]
        await conn.execute(insert(ConversationTag), [{"conversation_id": x, "tag_id": t} for x, t in tags])
    return Floor(avi, ben, sales, billing, vip, debt, a, b, c, d)


async def test_every_filter_and_their_combinations(database: Database) -> None:
    f = await _floor(database)
    cases: list[tuple[dict[str, object], list[uuid.UUID]]] = [
        ({}, [f.d, f.c, f.b, f.a]),
        ({"status": "open"}, [f.b, f.a]),
        ({"status": "pending"}, [f.c]),
        ({"channel": "api"}, [f.c, f.a]),
        ({"assignee_id": f.avi}, [f.a]),
        ({"assignee_id": NOBODY}, [f.d, f.b]),
        ({"team_id": f.sales}, [f.d, f.a]),
        ({"team_id": NOBODY}, [f.b]),
        ({"tag_id": f.vip}, [f.d, f.a]),
        ({"tag_id": f.debt}, [f.d, f.b]),
        ({"status": "open", "tag_id": f.vip}, [f.a]),
        ({"status": "open", "assignee_id": NOBODY}, [f.b]),
        ({"assignee_id": NOBODY, "team_id": f.sales}, [f.d]),
        ({"channel": "api", "team_id": f.billing, "status": "pending"}, [f.c]),
        ({"channel": "email", "tag_id": f.vip, "assignee_id": NOBODY, "team_id": f.sales}, [f.d]),
        ({"channel": "api", "tag_id": f.debt}, []),
        ({"status": "open", "assignee_id": f.ben}, []),
    ]
    async with database.reader.connect() as conn:
        for filters, expected in cases:
            found = await list_conversations(conn, **filters)  # type: ignore[arg-type]
            assert [c.id for c in found] == expected, filters
        everything = await list_conversations(conn)
    assert {c.id: c.tags for c in everything} == {
        f.a: ("vip",),
        f.b: ("debt",),
        f.c: (),
        f.d: ("debt", "vip"),
    }
    assert orjson.dumps(everything)


async def test_tags_are_found_by_name_or_id_and_listed_by_name(database: Database) -> None:
    f = await _floor(database)
    async with database.reader.connect() as conn:
        assert await find_tag(conn, "vip") == f.vip
        assert await find_tag(conn, str(f.debt)) == f.debt
        assert await find_tag(conn, "nope") is None
        assert await find_tag(conn, str(uuid.uuid4())) is None
        assert [(t.id, t.name) for t in await list_tags(conn)] == [(f.debt, "debt"), (f.vip, "vip")]


async def _unread(database: Database, agent: uuid.UUID | None, conversation: uuid.UUID) -> bool:
    async with database.reader.connect() as conn:
        listed = {c.id: c.unread for c in await list_conversations(conn, reader_id=agent)}
        shown = await get_conversation(conn, conversation, reader_id=agent)
    assert shown is not None and shown.unread is listed[conversation]
    return listed[conversation]


async def test_unread_until_opened_again_after_the_customer_writes(database: Database) -> None:
    async with database.writer.begin() as conn:
        avi, ben = await _agent(conn, "avi"), await _agent(conn, "ben")
        conversation = await _write(conn, "noa", 10)
    assert await _unread(database, avi, conversation)  # never opened
    assert not await _unread(database, None, conversation)  # nobody reading: never unread

    async with database.writer.begin() as conn:
        mark = await mark_read(conn, avi, conversation, now=_at(60))
    assert (mark.read_at, mark.read_through) == (_at(60), _at(10))
    assert not await _unread(database, avi, conversation)
    assert await _unread(database, ben, conversation)  # Avi's read is Avi's alone

    # The agent replies, notes and resolves: only the customer makes it unread again.
    async with database.writer.begin() as conn:
        target = await reply_target(conn, conversation)
        await queue_reply(conn, target, ReplyDraft("On it", author_agent_id=avi), _at(61))
        await queue_reply(conn, target, ReplyDraft("note", private=True, author_agent_id=avi), _at(62))
        await change_status(conn, conversation, ConversationStatus.RESOLVED, actor="agent:avi", now=_at(63))
    assert not await _unread(database, avi, conversation)

    # Stamped before the agent opened it (a lagging provider) but after what the agent saw: unread.
    async with database.writer.begin() as conn:
        assert await _write(conn, "noa", 30) == conversation
    assert await _unread(database, avi, conversation)
    async with database.writer.begin() as conn:
        await mark_read(conn, avi, conversation, now=_at(70))
    assert not await _unread(database, avi, conversation)


async def test_unread_only_keeps_what_the_reader_has_not_seen(database: Database) -> None:
    async with database.writer.begin() as conn:
        avi = await _agent(conn, "avi")
        seen_id, again_id, never_id = [await _write(conn, name, n) for n, name in enumerate("abc")]
        for conversation in (seen_id, again_id):
            await mark_read(conn, avi, conversation, now=_at(5))
        await _write(conn, "b", 6)
    async with database.reader.connect() as conn:
        unread = await list_conversations(conn, reader_id=avi, unread_only=True)
        open_unread = await list_conversations(conn, status="open", reader_id=avi, unread_only=True, limit=1)
        with pytest.raises(ValueError, match="reader_id"):
            await list_conversations(conn, unread_only=True)
    assert [c.id for c in unread] == [again_id, never_id]
    assert all(c.unread for c in unread)
    assert [c.id for c in open_unread] == [again_id]


async def test_mark_read_of_a_missing_conversation_is_not_found(database: Database) -> None:
    async with database.writer.begin() as conn:
        avi = await _agent(conn, "avi")
        with pytest.raises(NotFoundError):
            await mark_read(conn, avi, uuid.uuid4(), now=NOW)


async def test_counts_open_pending_and_of_the_open_unread_mine_unassigned(database: Database) -> None:
    f = await _floor(database)
    async with database.writer.begin() as conn:
        e = await _write(conn, "eli", 5)  # open, Avi's, never read
        await _set(conn, e, assignee_id=f.avi)
        await mark_read(conn, f.avi, f.a, now=_at(10))
        await mark_read(conn, f.avi, f.d, now=_at(10))  # resolved: counts nowhere
    async with database.reader.connect() as conn:
        avi = await inbox_counts(conn, f.avi)
        ben = await inbox_counts(conn, f.ben)
        token = await inbox_counts(conn, None)
    # Open: a (Avi's, read), b (nobody's), e (Avi's, unread). Pending: c.
    assert avi == InboxCounts(open=3, pending=1, unread=2, mine=2, unassigned=1)
    assert ben == InboxCounts(open=3, pending=1, unread=3, mine=0, unassigned=1)
    assert token == InboxCounts(open=3, pending=1, unread=0, mine=0, unassigned=1)
    async with database.writer.begin() as conn:
        await _write(conn, "alma", 20)  # the customer of a writes again
    async with database.reader.connect() as conn:
        assert (await inbox_counts(conn, f.avi)).unread == 3


async def test_pages_under_a_filter_neither_skip_nor_repeat_rows_of_one_instant(database: Database) -> None:
    async with database.writer.begin() as conn:
        vip = new_id()
        await conn.execute(insert(Tag).values(id=vip, name="vip"))
        ids = [await _write(conn, f"user{n}", n) for n in range(7)]
        # Four of them last active at one instant: only the id orders them.
        await _set_many(conn, ids[1:5], last_message_at=_at(1))
        tagged = [x for n, x in enumerate(ids) if n != 3]
        await conn.execute(insert(ConversationTag), [{"conversation_id": x, "tag_id": vip} for x in tagged])
    pages: list[list[uuid.UUID]] = []
    async with database.reader.connect() as conn:
        before, before_id = None, None
        while True:
            page = await list_conversations(
                conn, status="open", tag_id=vip, limit=2, before=before, before_id=before_id
            )
            if not page:
                break
            pages.append([c.id for c in page])
            before, before_id = page[-1].last_message_at, page[-1].id
    walked = [x for page in pages for x in page]
    expected = [ids[6], ids[5], *sorted([x for x in ids[1:5] if x != ids[3]], reverse=True), ids[0]]
    assert walked == expected
    assert all(len(page) == 2 for page in pages[:-1])


async def _set_many(conn: AsyncConnection, ids: list[uuid.UUID], **values: object) -> None:
    await conn.execute(update(Conversation).where(Conversation.id.in_(ids)).values(**values))
