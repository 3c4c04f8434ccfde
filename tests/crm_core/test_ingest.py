"""record_inbound on SQLite and PostgreSQL: dedup, identity resolution, threading, outbox events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from crm_core.db import Database
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import Contact, ContactIdentity, Conversation, EventRecord, Interaction

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _record(
    message_id: str, sender: str = "alice", thread: str | None = None, **extra: object
) -> InboundRecord:
    return InboundRecord(
        channel="api",
        account="default",
        external_id=sender,
        external_message_id=message_id,
        thread_key=thread or sender,
        occurred_at=NOW,
        source_kind="text",
        text=f"hello {message_id}",
        **extra,  # type: ignore[arg-type]
    )


async def _count(db: Database, model: type) -> int:
    async with db.reader.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_new_sender_creates_contact_identity_conversation_interaction(database: Database) -> None:
    async with database.writer.begin() as conn:
        outcomes, events = await record_inbound(conn, [_record("m1", display_name="Alice")], NOW)
    [outcome] = outcomes
    assert outcome.duplicate is False
    assert [await _count(database, m) for m in (Contact, ContactIdentity, Conversation, Interaction)] == [
        1,
        1,
        1,
        1,
    ]
    assert [e.name for e in events] == ["contact.created", "conversation.created", "interaction.created"]
    assert events[-1].payload["interaction_id"] == str(outcome.interaction_id)
    async with database.reader.connect() as conn:
        stored = (await conn.execute(select(Interaction.__table__))).one()
        contact = (await conn.execute(select(Contact.__table__))).one()
        unrelayed = (
            await conn.execute(
                select(func.count()).select_from(EventRecord).where(EventRecord.relayed_at.is_(None))
            )
        ).scalar_one()
    assert stored.id == outcome.interaction_id and stored.text == "hello m1" and stored.direction == "in"
    assert stored.occurred_at == NOW
    assert contact.display_name == "Alice"
    assert unrelayed == 3


async def test_repeated_message_is_stored_once_with_the_same_ids(database: Database) -> None:
    async with database.writer.begin() as conn:
        [first], _ = await record_inbound(conn, [_record("m1")], NOW)
    async with database.writer.begin() as conn:
        [again, within_a, within_b], events = await record_inbound(
            conn, [_record("m1"), _record("m2"), _record("m2")], NOW
        )
    assert again.duplicate and again.interaction_id == first.interaction_id
    assert not within_a.duplicate and within_b.duplicate
    assert within_a.interaction_id == within_b.interaction_id
    assert await _count(database, Interaction) == 2
    assert [e.name for e in events] == ["interaction.created"]


async def test_known_identity_lands_on_its_contact_and_open_conversation(database: Database) -> None:
    async with database.writer.begin() as conn:
        [first], _ = await record_inbound(conn, [_record("m1")], NOW)
    async with database.writer.begin() as conn:
        [second, other], _ = await record_inbound(
            conn, [_record("m2"), _record("m3", sender="bob")], NOW + timedelta(minutes=1)
        )
    assert second.contact_id == first.contact_id
    assert second.conversation_id == first.conversation_id
    assert other.contact_id != first.contact_id
    async with database.reader.connect() as conn:
        last = (
            await conn.execute(
                select(Conversation.last_message_at).where(Conversation.id == first.conversation_id)
            )
        ).scalar_one()
    assert last == NOW


async def test_new_thread_of_a_known_contact_opens_a_second_conversation(database: Database) -> None:
    async with database.writer.begin() as conn:
        [a, b], _ = await record_inbound(conn, [_record("m1", thread="t1"), _record("m2", thread="t2")], NOW)
    assert a.contact_id == b.contact_id
    assert a.conversation_id != b.conversation_id


async def test_message_to_a_resolved_conversation_reopens_it_and_a_closed_one_starts_anew(
    database: Database,
) -> None:
    async with database.writer.begin() as conn:
        [first], _ = await record_inbound(conn, [_record("m1")], NOW)
        await conn.execute(
            update(Conversation).where(Conversation.id == first.conversation_id).values(status="resolved")
        )
    async with database.writer.begin() as conn:
        [second], _ = await record_inbound(conn, [_record("m2")], NOW)
    assert second.conversation_id == first.conversation_id
    async with database.writer.begin() as conn:
        status = (
            await conn.execute(select(Conversation.status).where(Conversation.id == first.conversation_id))
        ).scalar_one()
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == first.conversation_id)
            .values(status="closed", closed_at=NOW)
        )
    assert status == "open"
    async with database.writer.begin() as conn:
        [third], _ = await record_inbound(conn, [_record("m3")], NOW)
    assert third.conversation_id != first.conversation_id and third.contact_id == first.contact_id


async def test_a_late_message_does_not_move_the_conversation_back_in_time(database: Database) -> None:
    late = InboundRecord(
        channel="api", account="default", external_id="alice", external_message_id="old",
        thread_key="alice", occurred_at=NOW - timedelta(hours=2), source_kind="text", text="sent earlier",
    )  # fmt: skip
    async with database.writer.begin() as conn:
        [first], _ = await record_inbound(conn, [_record("m1")], NOW)
    async with database.writer.begin() as conn:
        await record_inbound(conn, [late], NOW)
    async with database.reader.connect() as conn:
        last = (
            await conn.execute(
                select(Conversation.last_message_at).where(Conversation.id == first.conversation_id)
            )
        ).scalar_one()
    assert last == NOW
