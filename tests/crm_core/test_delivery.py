"""Delivery reports move an outgoing message's status forward only; failed is final."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from crm_core.db import Database, new_id
from crm_core.delivery import DeliveryReport, store_delivery_reports
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import Interaction

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


async def _outgoing(database: Database, provider_id: str) -> None:
    inbound = InboundRecord(
        channel="api", account="default", external_id="alice", external_message_id="in-1",
        thread_key="alice", occurred_at=NOW, source_kind="text", text="hi",
    )  # fmt: skip
    async with database.writer.begin() as conn:
        [outcome], _ = await record_inbound(conn, [inbound], NOW)
        await conn.execute(
            insert(Interaction).values(
                id=new_id(), conversation_id=outcome.conversation_id, contact_id=outcome.contact_id,
                direction="out", kind="message", text="hello", channel="api", account="default",
                external_message_id=provider_id, delivery_status="queued", occurred_at=NOW, created_at=NOW,
            )
        )  # fmt: skip


async def _apply(database: Database, *statuses: str) -> list[str | None]:
    seen = []
    for status in statuses:
        report = DeliveryReport("api", "out-1", status, "bounced" if status == "failed" else None)
        async with database.writer.begin() as conn:
            await conn.run_sync(store_delivery_reports, [report], NOW)
            query = select(Interaction.delivery_status).where(Interaction.external_message_id == "out-1")
            seen.append((await conn.execute(query)).scalar_one())
    return seen


async def test_status_only_moves_forward_and_failed_is_final(database: Database) -> None:
    await _outgoing(database, "out-1")
    assert await _apply(database, "delivered", "sent", "read", "failed", "read") == [
        "delivered", "delivered", "read", "failed", "failed",
    ]  # fmt: skip


async def test_reports_for_unknown_messages_change_nothing_and_write_no_event(database: Database) -> None:
    await _outgoing(database, "out-1")
    async with database.writer.begin() as conn:
        events = await conn.run_sync(store_delivery_reports, [DeliveryReport("api", "nope", "read")], NOW)
    assert events == []


async def test_a_report_that_beats_the_send_record_is_applied_when_the_send_is_recorded(
    database: Database,
) -> None:
    from crm_core.outbox import ReplyDraft, claim_due, mark_sent, queue_reply, reply_target

    inbound = InboundRecord(
        channel="api", account="default", external_id="alice", external_message_id="in-1",
        thread_key="alice", occurred_at=NOW, source_kind="text", text="hi",
    )  # fmt: skip
    async with database.writer.begin() as conn:
        [outcome], _ = await record_inbound(conn, [inbound], NOW)
        target = await reply_target(conn, outcome.conversation_id)
        queued = await queue_reply(conn, target, ReplyDraft(text="hello"), NOW)
        [due] = await claim_due(conn, NOW)
    # The provider reports "delivered" before the outbox has stored the id its send returned.
    async with database.writer.begin() as conn:
        await conn.run_sync(store_delivery_reports, [DeliveryReport("api", "prov-7", "delivered")], NOW)
    async with database.writer.begin() as conn:
        await mark_sent(conn, due, "prov-7", NOW)
        query = select(Interaction.delivery_status).where(Interaction.id == queued.interaction_id)
        assert (await conn.execute(query)).scalar_one() == "delivered"
