"""Ingest follows references to the conversation they belong to; subject, details and inline files are kept;
channel state round-trips. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from crm_core.channel_state import get_channel_state, put_channel_state
from crm_core.db import Database, new_id
from crm_core.ingest import InboundRecord, InlineFile, RecordOutcome, record_inbound
from crm_core.models import Conversation, Interaction
from crm_core.models_messaging import StoredMedia

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _mail(
    message_id: str, sender: str = "dana@example.com", thread: str | None = None, **extra: object
) -> InboundRecord:
    return InboundRecord(
        channel="email",
        account="support@example.net",
        external_id=sender,
        external_message_id=message_id,
        thread_key=thread or message_id,
        occurred_at=NOW,
        source_kind="text",
        text=f"body of {message_id}",
        **extra,  # type: ignore[arg-type]
    )


async def _store(db: Database, *records: InboundRecord) -> list[RecordOutcome]:
    async with db.writer.begin() as conn:
        outcomes, _ = await record_inbound(conn, list(records), NOW)
    return outcomes


async def _our_reply(db: Database, first: RecordOutcome, external_id: str) -> None:
    """An agent's reply, sent, with the provider id (our Message-ID) we gave it."""
    async with db.writer.begin() as conn:
        await conn.execute(
            insert(Interaction.__table__).values(
                id=new_id(),
                conversation_id=first.conversation_id,
                contact_id=first.contact_id,
                direction="out",
                kind="message",
                source_kind="text",
                private=False,
                text="our answer",
                attachments=[],
                channel="email",
                account="support@example.net",
                external_message_id=external_id,
                occurred_at=NOW + timedelta(minutes=1),
                created_at=NOW,
            )
        )


async def test_a_reply_to_our_message_joins_its_conversation_whatever_its_thread_key(
    database: Database,
) -> None:
    [first] = await _store(database, _mail("a@customer"))
    await _our_reply(database, first, "ours-1@hub")
    # The customer's client dropped References and starts a thread key of its own.
    [reply] = await _store(database, _mail("b@customer", thread="b@customer", references=("ours-1@hub",)))
    assert reply.conversation_id == first.conversation_id


async def test_our_message_wins_over_a_stored_customer_message_of_another_thread(database: Database) -> None:
    [first] = await _store(database, _mail("a@customer"))
    [other] = await _store(database, _mail("x@customer"))
    assert other.conversation_id != first.conversation_id
    await _our_reply(database, first, "ours-1@hub")
    # Nearest first: the customer's own mail of the other thread comes before ours, ours still wins.
    [reply] = await _store(
        database, _mail("b@customer", thread="zzz", references=("x@customer", "ours-1@hub"))
    )
    assert reply.conversation_id == first.conversation_id


async def test_without_any_of_ours_the_nearest_stored_message_decides(database: Database) -> None:
    [first] = await _store(database, _mail("a@customer"))
    [second] = await _store(database, _mail("x@customer"))
    [reply] = await _store(
        database, _mail("b@customer", thread="zzz", references=("unknown@else", "x@customer", "a@customer"))
    )
    assert reply.conversation_id == second.conversation_id != first.conversation_id


async def test_references_never_join_another_contacts_or_a_closed_conversation(database: Database) -> None:
    [first] = await _store(database, _mail("a@customer"))
    [stranger] = await _store(
        database, _mail("s@other", sender="eve@example.org", references=("a@customer",))
    )
    assert stranger.conversation_id != first.conversation_id
    async with database.writer.begin() as conn:
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == first.conversation_id)
            .values(closed_at=NOW, status="closed")
        )
    [late] = await _store(database, _mail("c@customer", thread="c@customer", references=("a@customer",)))
    assert late.conversation_id != first.conversation_id


async def test_subject_details_and_inline_files_are_kept(database: Database) -> None:
    record = _mail(
        "a@customer",
        subject="החשבונית שלי",
        details={"html": '<p dir="auto">שלום</p>', "machine": None},
        attachments=(
            {"content_type": "application/pdf", "filename": "bill.pdf"},
            {"content_type": "image/png", "url": "https://x/y.png"},
        ),
        inline=(InlineFile(0, "application/pdf", b"%PDF-1.7 bill", "bill.pdf"),),
    )
    [outcome] = await _store(database, record)
    async with database.reader.connect() as conn:
        stored = (
            await conn.execute(select(Interaction.__table__).where(Interaction.id == outcome.interaction_id))
        ).one()
        conversation = (
            await conn.execute(select(Conversation.subject).where(Conversation.id == outcome.conversation_id))
        ).scalar_one()
        media = (await conn.execute(select(StoredMedia.__table__))).one()
    assert stored.subject == "החשבונית שלי" and conversation == "החשבונית שלי"
    assert stored.details == {"html": '<p dir="auto">שלום</p>', "machine": None}
    assert media.content == b"%PDF-1.7 bill" and media.filename == "bill.pdf" and media.position == 0
    assert media.interaction_id == outcome.interaction_id
    first, second = stored.attachments
    assert first["stored_id"] == str(media.id) and first["stored_url"] == f"/api/v1/media/{media.id}"
    assert first["size"] == len(b"%PDF-1.7 bill")
    assert "stored_id" not in second  # a provider-held file is fetched later, as before


async def test_channel_state_round_trips_per_channel(database: Database) -> None:
    async with database.writer.begin() as conn:
        await put_channel_state(conn, "email", "imap:inbox", "7:41", NOW)
        await put_channel_state(conn, "email", "imap:inbox", "7:42", NOW)
        await put_channel_state(conn, "other", "imap:inbox", "1:1", NOW)
    async with database.reader.connect() as conn:
        assert await get_channel_state(conn, "email", "imap:inbox") == "7:42"
        assert await get_channel_state(conn, "other", "imap:inbox") == "1:1"
        assert await get_channel_state(conn, "email", str(uuid.uuid4())) is None


async def test_a_quiet_notice_joins_its_conversation_without_reopening_it(database: Database) -> None:
    [first] = await _store(database, _mail("a@customer"))
    async with database.writer.begin() as conn:
        await conn.execute(
            update(Conversation).where(Conversation.id == first.conversation_id).values(status="resolved")
        )
    later = replace(
        _mail("ooo@customer", references=("a@customer",), quiet=True), occurred_at=NOW + timedelta(hours=1)
    )
    [notice] = await _store(database, later)
    async with database.reader.connect() as conn:
        status, last = (
            await conn.execute(
                select(Conversation.status, Conversation.last_message_at).where(
                    Conversation.id == first.conversation_id
                )
            )
        ).one()
    assert notice.conversation_id == first.conversation_id
    assert (status, last) == ("resolved", NOW)
    [loud] = await _store(
        database,
        replace(_mail("b@customer", references=("a@customer",)), occurred_at=NOW + timedelta(hours=2)),
    )
    async with database.reader.connect() as conn:
        status = (
            await conn.execute(select(Conversation.status).where(Conversation.id == loud.conversation_id))
        ).scalar_one()
    assert status == "open"
