"""Merging contacts on SQLite and PostgreSQL: nothing is lost, the merge is audited, refusals are typed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.contacts import customer_360, get_contact, merge_contacts, search_contacts
from crm_core.db import Database, new_id
from crm_core.errors import ContactNotFound, CrmError, MergeRefused
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import (
    Agreement,
    AuditEntry,
    Case,
    ContactIdentity,
    ContactTag,
    Conversation,
    CsatResponse,
    EventRecord,
    Interaction,
    SlaTier,
    Tag,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _record(channel: str, sender: str, message_id: str, minutes: int = 0, **extra: Any) -> InboundRecord:
    return InboundRecord(
        channel=channel,
        account="main",
        external_id=sender,
        external_message_id=message_id,
        thread_key=extra.pop("thread", sender),
        occurred_at=NOW + timedelta(minutes=minutes),
        source_kind="text",
        text=f"text {message_id}",
        **extra,
    )


async def _contact(
    conn: AsyncConnection, channel: str, sender: str, count: int = 2, **extra: Any
) -> uuid.UUID:
    records = [_record(channel, sender, f"{sender}-{n}", n, **extra) for n in range(count)]
    outcomes, _ = await record_inbound(conn, records, NOW)
    return outcomes[0].contact_id


async def _tag(conn: AsyncConnection, contact: uuid.UUID, *names: str) -> None:
    for name in names:
        tag = (await conn.execute(select(Tag.id).where(Tag.name == name))).scalar_one_or_none()
        if tag is None:
            tag = new_id()
            await conn.execute(insert(Tag).values(id=tag, name=name))
        await conn.execute(insert(ContactTag).values(contact_id=contact, tag_id=tag))


async def _give_history(conn: AsyncConnection, contact: uuid.UUID) -> None:
    """An agreement, a case and a CSAT answer, on top of the contact's conversation."""
    conversation = (
        await conn.execute(select(Conversation.id).where(Conversation.contact_id == contact))
    ).scalar_one()
    await conn.execute(
        insert(SlaTier).values(name="standard", first_response_seconds=3600, resolution_seconds=86400)
    )
    await conn.execute(
        insert(Agreement).values(
            id=new_id(), contact_id=contact, product="Cloud Backup", sla_tier="standard", entitlements=[],
            payment_plan="monthly", payment_status="current", starts_on=date(2026, 1, 1), created_at=NOW,
        )
    )  # fmt: skip
    await conn.execute(
        insert(Case).values(
            id=new_id(), contact_id=contact, conversation_id=conversation, type="billing", step="new",
            status="open", priority="normal", title="Refund", opened_at=NOW,
        )
    )  # fmt: skip
    await conn.execute(
        insert(CsatResponse).values(
            id=new_id(), conversation_id=conversation, contact_id=contact, score=2, created_at=NOW
        )
    )


async def _owned(conn: AsyncConnection, model: Any, contact: uuid.UUID) -> int:
    query = select(func.count()).select_from(model).where(model.contact_id == contact)
    return int((await conn.execute(query)).scalar_one())


async def test_merge_moves_every_identity_interaction_and_record(database: Database) -> None:
    async with database.writer.begin() as conn:
        survivor = await _contact(conn, "twilio_sms", "+972525550142", 2, display_name="נועה לוי")
        merged = await _contact(
            conn, "telegram", "805550142", 3, display_name="Noa L", email="noa@example.com"
        )
        await _give_history(conn, merged)
        await _tag(conn, survivor, "vip")
        await _tag(conn, merged, "vip", "billing")
    async with database.writer.begin() as conn:
        outcome = await merge_contacts(conn, survivor, merged, actor="agent:michal", now=LATER)
    assert (outcome.identities, outcome.conversations, outcome.interactions) == (1, 1, 3)
    assert (outcome.agreements, outcome.cases, outcome.csat_responses, outcome.tags) == (1, 1, 1, 1)
    assert outcome.filled_fields == ("email",)
    async with database.reader.connect() as conn:
        for model, expected in (
            (ContactIdentity, 2),
            (Interaction, 5),
            (Conversation, 2),
            (Agreement, 1),
            (Case, 1),
        ):
            assert (await _owned(conn, model, survivor), await _owned(conn, model, merged)) == (expected, 0)
        tags = (
            await conn.execute(select(Tag.name).join(ContactTag).where(ContactTag.contact_id == survivor))
        ).scalars()
        kept = await get_contact(conn, survivor)
        gone = await get_contact(conn, merged)
    assert sorted(tags) == ["billing", "vip"]
    assert kept is not None and (kept.display_name, kept.email) == ("נועה לוי", "noa@example.com")
    assert kept.updated_at == LATER
    assert gone is not None and gone.merged_into_id == survivor


async def test_merge_is_audited_and_announced(database: Database) -> None:
    async with database.writer.begin() as conn:
        survivor = await _contact(conn, "api", "a")
        merged = await _contact(conn, "api", "b")
    async with database.writer.begin() as conn:
        outcome = await merge_contacts(conn, survivor, merged, actor="agent:michal", now=LATER)
    async with database.reader.connect() as conn:
        audit = (
            await conn.execute(select(AuditEntry.__table__).where(AuditEntry.action == "contact.merged"))
        ).one()
        event = (
            await conn.execute(select(EventRecord.__table__).where(EventRecord.name == "contact.merged"))
        ).one()
    assert (audit.actor, audit.subject_type, audit.subject_id, audit.occurred_at) == (
        "agent:michal", "contact", str(survivor), LATER,
    )  # fmt: skip
    assert audit.detail["merged_id"] == str(merged)
    assert audit.detail["moved"]["interactions"] == 2 and audit.detail["moved"]["identities"] == 1
    assert (
        event.payload == {"contact_id": str(survivor), "merged_id": str(merged)} and event.relayed_at is None
    )
    assert [e.id for e in outcome.events] == [event.id]
    assert orjson.loads(orjson.dumps(outcome))["merged_id"] == str(merged)  # the API answers with it as it is


async def test_merged_id_resolves_to_survivor_and_new_traffic_lands_there(database: Database) -> None:
    async with database.writer.begin() as conn:
        survivor = await _contact(conn, "api", "a", display_name="Dana")
        merged = await _contact(conn, "whatsapp_cloud", "972501234567", display_name="Dana W")
        await merge_contacts(conn, survivor, merged, actor="agent:x", now=LATER)
    async with database.writer.begin() as conn:
        [again], _ = await record_inbound(
            conn, [_record("whatsapp_cloud", "972501234567", "wa-late", 90)], LATER
        )
    async with database.reader.connect() as conn:
        view = await customer_360(conn, merged)
        found = await search_contacts(conn, "dana")
    assert again.contact_id == survivor
    assert view is not None and view.requested_id == merged and view.contact.id == survivor
    assert {i.channel for i in view.identities} == {"api", "whatsapp_cloud"}
    assert view.figures.interactions_total == 5
    assert view.recent_interactions[0].text == "text wa-late"
    assert [c.id for c in found] == [survivor]


async def test_merge_chain_points_earlier_merges_at_the_last_survivor(database: Database) -> None:
    async with database.writer.begin() as conn:
        first, second, third = [await _contact(conn, "api", name) for name in ("a", "b", "c")]
        await merge_contacts(conn, second, first, actor="agent:x", now=LATER)
        await merge_contacts(conn, third, second, actor="agent:x", now=LATER)
    async with database.reader.connect() as conn:
        earliest = await get_contact(conn, first)
        view = await customer_360(conn, first)
    assert earliest is not None and earliest.merged_into_id == third
    assert view is not None and view.contact.id == third and len(view.identities) == 3


async def test_merge_closes_a_twin_thread_instead_of_failing(database: Database) -> None:
    async with database.writer.begin() as conn:
        survivor = await _contact(conn, "email", "a@example.com", thread="<thread-1@example.com>")
        merged = await _contact(conn, "email", "b@example.com", thread="<thread-1@example.com>")
        outcome = await merge_contacts(conn, survivor, merged, actor="agent:x", now=LATER)
    async with database.reader.connect() as conn:
        rows = (
            await conn.execute(
                select(Conversation.contact_id, Conversation.status, Conversation.closed_at).order_by(
                    Conversation.id
                )
            )
        ).all()
    assert outcome.conversations_closed == 1 and outcome.conversations == 1
    assert [(r.contact_id, r.status, r.closed_at) for r in rows] == [
        (survivor, "open", None),
        (survivor, "closed", LATER),
    ]


async def test_refused_merges_change_nothing(database: Database) -> None:
    async with database.writer.begin() as conn:
        a, b, c = [await _contact(conn, "api", name) for name in ("a", "b", "c")]
        await merge_contacts(conn, a, b, actor="agent:x", now=LATER)
    cases: list[tuple[uuid.UUID, uuid.UUID, type[CrmError]]] = [
        (a, a, MergeRefused),
        (a, uuid.uuid4(), ContactNotFound),
        (uuid.uuid4(), a, ContactNotFound),
        (c, b, MergeRefused),  # b is merged already
        (b, c, MergeRefused),  # nor can anything be merged into it
    ]
    for survivor, merged, error in cases:
        async with database.writer.begin() as conn:
            with pytest.raises(error):
                await merge_contacts(conn, survivor, merged, actor="agent:x", now=LATER)
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
        owners = (await conn.execute(select(ContactIdentity.contact_id))).scalars().all()
    assert audits == 1
    assert sorted(map(str, owners)) == sorted(map(str, (a, a, c)))
    assert ContactNotFound.code == "contact_not_found" and MergeRefused.code == "merge_refused"
