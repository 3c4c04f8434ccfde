"""Contact search, lookup and the customer 360 view (one statement), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.contacts import customer_360, get_contact, search_contacts
from crm_core.db import Database, new_id
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import (
    Agreement,
    Case,
    Contact,
    ContactIdentity,
    ContactTag,
    CsatResponse,
    Interaction,
    Organisation,
    SlaTier,
    Tag,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _inbound(
    sender: str, message_id: str, minutes: int, *, channel: str = "api", **extra: Any
) -> InboundRecord:
    return InboundRecord(
        channel=channel,
        account="default",
        external_id=sender,
        external_message_id=message_id,
        thread_key=sender,
        occurred_at=NOW + timedelta(minutes=minutes),
        source_kind="text",
        text=f"text of {message_id}",
        **extra,
    )


async def _contact(conn: AsyncConnection, sender: str, minutes: int = 0, **extra: Any) -> uuid.UUID:
    [outcome], _ = await record_inbound(conn, [_inbound(sender, f"{sender}-first", minutes, **extra)], NOW)
    return outcome.contact_id


@dataclass(frozen=True)
class Seeded:
    noa: uuid.UUID
    organisation: uuid.UUID
    open_case: uuid.UUID
    newest_interaction: uuid.UUID


async def _seed_noa(conn: AsyncConnection) -> Seeded:
    """A customer on WhatsApp and Telegram, with her own and her organisation's agreements."""
    noa = await _contact(conn, "972525550142", channel="whatsapp_cloud", display_name="נועה לוי")
    await conn.execute(
        insert(ContactIdentity).values(
            id=new_id(),
            contact_id=noa,
            channel="telegram",
            account="default",
            external_id="805550142",
            created_at=NOW,
        )
    )
    await record_inbound(conn, [_inbound("805550142", "tg-1", 10, channel="telegram")], NOW)
    [later], _ = await record_inbound(
        conn, [_inbound("972525550142", "wa-2", 20, channel="whatsapp_cloud")], NOW
    )
    organisation = new_id()
    await conn.execute(insert(Organisation).values(id=organisation, name="Galil Logistics", created_at=NOW))
    await conn.execute(
        update(Contact).where(Contact.id == noa).values(organisation_id=organisation, email="noa@example.com")
    )
    await conn.execute(
        insert(SlaTier),
        [
            {
                "name": "premium",
                "first_response_seconds": 900,
                "resolution_seconds": 28800,
                "description": None,
            },
            {
                "name": "standard",
                "first_response_seconds": 28800,
                "resolution_seconds": 432000,
                "description": None,
            },
        ],
    )
    await conn.execute(
        insert(Agreement),
        [_agreement(noa, None, "Backup", "standard"), _agreement(None, organisation, "Fleet", "premium")],
    )
    open_case = new_id()
    await conn.execute(
        insert(Case),
        [_case(open_case, noa, "open", "SIM check"), _case(new_id(), noa, "resolved", "Invoice copy")],
    )
    tags = [{"id": new_id(), "name": name} for name in ("vip", "fleet")]
    await conn.execute(insert(Tag), tags)
    await conn.execute(insert(ContactTag), [{"contact_id": noa, "tag_id": t["id"]} for t in tags])
    await conn.execute(insert(CsatResponse), [_csat(later.conversation_id, noa, score) for score in (4, 5)])
    newest = new_id()
    await conn.execute(insert(Interaction).values(**_outbound(newest, later.conversation_id, noa, 30)))
    return Seeded(noa, organisation, open_case, newest)


def _agreement(
    contact: uuid.UUID | None, organisation: uuid.UUID | None, product: str, tier: str
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "contact_id": contact,
        "organisation_id": organisation,
        "product": product,
        "sla_tier": tier,
        "entitlements": ["24/7 phone", "2 site visits"],
        "payment_plan": "annual",
        "payment_status": "overdue" if organisation is None else "current",
        "starts_on": date(2026, 1, 1),
        "ends_on": None if organisation is None else date(2027, 1, 1),
        "created_at": NOW,
    }


def _case(case_id: uuid.UUID, contact: uuid.UUID, status: str, title: str) -> dict[str, Any]:
    return {
        "id": case_id,
        "contact_id": contact,
        "conversation_id": None,
        "type": "device_fault",
        "step": "diagnosis",
        "status": status,
        "priority": "high",
        "title": title,
        "opened_at": NOW,
        "due_at": NOW + timedelta(hours=8),
        "closed_at": None,
    }


def _csat(conversation: uuid.UUID, contact: uuid.UUID, score: int) -> dict[str, Any]:
    return {
        "id": new_id(),
        "conversation_id": conversation,
        "contact_id": contact,
        "score": score,
        "comment": None,
        "created_at": NOW,
    }


def _outbound(
    interaction_id: uuid.UUID, conversation: uuid.UUID, contact: uuid.UUID, minutes: int
) -> dict[str, Any]:
    return {
        "id": interaction_id,
        "conversation_id": conversation,
        "contact_id": contact,
        "direction": "out",
        "kind": "message",
        "source_kind": None,
        "private": False,
        "text": "נבדוק ונחזור אלייך",
        "attachments": [],
        "channel": "whatsapp_cloud",
        "account": "default",
        "external_message_id": "wamid.out-1",
        "delivery_status": "delivered",
        "delivery_error": None,
        "author_agent_id": None,
        "occurred_at": NOW + timedelta(minutes=minutes),
        "created_at": NOW,
    }


async def test_search_matches_hebrew_name_email_phone_and_identity(database: Database) -> None:
    async with database.writer.begin() as conn:
        seeded = await _seed_noa(conn)
        await _contact(conn, "bob", 1, display_name="Bob Stone", phone="+12125550187")
    async with database.reader.connect() as conn:
        by_name = await search_contacts(conn, "נועה")
        by_partial_name = await search_contacts(conn, "לוי")
        by_email = await search_contacts(conn, "NOA@example")
        by_identity = await search_contacts(conn, "805550142")
        by_phone = await search_contacts(conn, "+1 212 555")
        by_persian_digits = await search_contacts(conn, "\u06f2\u06f1\u06f2 \u06f5\u06f5\u06f5")  # ۲۱۲ ...
        everyone = await search_contacts(conn, None)
        nobody = await search_contacts(conn, "%")
    assert [c.id for c in by_name] == [c.id for c in by_partial_name] == [seeded.noa]
    assert by_name[0].display_name == "נועה לוי" and by_name[0].organisation_id == seeded.organisation
    assert [c.id for c in by_email] == [c.id for c in by_identity] == [seeded.noa]
    assert [c.display_name for c in by_phone] == [c.display_name for c in by_persian_digits] == ["Bob Stone"]
    assert [c.display_name for c in everyone] == ["Bob Stone", "נועה לוי"]  # newest first
    assert nobody == []  # LIKE wildcards in the query are literal


async def test_search_folds_arabic_and_persian_letter_variants(database: Database) -> None:
    async with database.writer.begin() as conn:
        persian = await _contact(conn, "ali", display_name="علی رضایی")  # Persian yeh
        arabic = await _contact(conn, "khaled", 1, display_name="خالد المنصوري")  # Arabic yeh
    async with database.reader.connect() as conn:
        typed_in_arabic = await search_contacts(conn, "علي")
        typed_in_persian = await search_contacts(conn, "منصوری")
    assert [c.id for c in typed_in_arabic] == [persian]
    assert [c.id for c in typed_in_persian] == [arabic]


async def test_search_leaves_out_merged_contacts_and_pages(database: Database) -> None:
    async with database.writer.begin() as conn:
        ids = [await _contact(conn, f"user{n}", n, display_name=f"Dana {n}") for n in range(4)]
        await conn.execute(update(Contact).where(Contact.id == ids[0]).values(merged_into_id=ids[1]))
    async with database.reader.connect() as conn:
        first = await search_contacts(conn, "dana", limit=2)
        second = await search_contacts(conn, "dana", limit=2, offset=2)
        merged = await get_contact(conn, ids[0])
        missing = await get_contact(conn, uuid.uuid4())
    assert [c.id for c in first + second] == [ids[3], ids[2], ids[1]]
    assert merged is not None and merged.merged_into_id == ids[1]
    assert orjson.dumps([*first, merged])  # plain values: no driver UUID types
    assert missing is None


async def _count_statements(
    database: Database, conn: AsyncConnection, contact_id: uuid.UUID, **kw: Any
) -> tuple[Any, list[str]]:
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = database.reader.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        view = await customer_360(conn, contact_id, **kw)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return view, statements


async def test_customer_360_holds_everything_in_one_statement(database: Database) -> None:
    async with database.writer.begin() as conn:
        seeded = await _seed_noa(conn)
        await _contact(conn, "someone-else", display_name="Other")
    async with database.reader.connect() as conn:
        view, statements = await _count_statements(database, conn, seeded.noa)
    assert len(statements) == 1
    assert view is not None and view.contact.id == view.requested_id == seeded.noa
    assert view.contact.display_name == "נועה לוי" and view.organisation_name == "Galil Logistics"
    assert {(i.channel, i.external_id) for i in view.identities} == {
        ("whatsapp_cloud", "972525550142"),
        ("telegram", "805550142"),
    }
    fleet, backup = sorted(view.agreements, key=lambda a: a.product, reverse=True)
    assert (
        fleet.organisation_id,
        fleet.sla_tier,
        fleet.first_response_seconds,
        fleet.resolution_seconds,
    ) == (
        seeded.organisation,
        "premium",
        900,
        28800,
    )
    assert fleet.entitlements == ("24/7 phone", "2 site visits") and fleet.ends_on == date(2027, 1, 1)
    assert (backup.contact_id, backup.payment_status, backup.starts_on, backup.ends_on) == (
        seeded.noa,
        "overdue",
        date(2026, 1, 1),
        None,
    )
    assert [c.id for c in view.open_cases] == [seeded.open_case]
    assert view.open_cases[0].due_at == NOW + timedelta(hours=8)
    assert view.tags == ("fleet", "vip")
    # Plain values only (no driver types): the API serializes the view as it is.
    assert type(view.contact.id) is uuid.UUID and type(view.contact.organisation_id) is uuid.UUID
    assert orjson.loads(orjson.dumps(view))["contact"]["id"] == str(seeded.noa)


async def test_customer_360_recent_interactions_span_channels_newest_first(database: Database) -> None:
    async with database.writer.begin() as conn:
        seeded = await _seed_noa(conn)
    async with database.reader.connect() as conn:
        view, statements = await _count_statements(database, conn, seeded.noa, recent=3)
    assert len(statements) == 1 and view is not None
    recent = view.recent_interactions
    assert recent[0].id == seeded.newest_interaction
    assert [(i.channel, i.direction, i.occurred_at) for i in recent] == [
        ("whatsapp_cloud", "out", NOW + timedelta(minutes=30)),
        ("whatsapp_cloud", "in", NOW + timedelta(minutes=20)),
        ("telegram", "in", NOW + timedelta(minutes=10)),
    ]
    assert recent[0].delivery_status == "delivered" and recent[0].private is False
    assert recent[0].text == "נבדוק ונחזור אלייך"
    assert len({i.conversation_id for i in recent}) == 2
    figures = view.figures
    assert (figures.interactions_total, figures.conversations_total, figures.conversations_open) == (4, 2, 2)
    assert (figures.cases_total, figures.cases_open) == (2, 1)
    assert (figures.first_seen, figures.last_seen) == (NOW, NOW + timedelta(minutes=20))
    assert (figures.csat_average, figures.csat_count) == (4.5, 2)


async def test_customer_360_of_a_bare_or_unknown_contact(database: Database) -> None:
    async with database.writer.begin() as conn:
        contact = await _contact(conn, "quiet")
        await conn.execute(update(Interaction).values(direction="out"))
    async with database.reader.connect() as conn:
        view = await customer_360(conn, contact)
        unknown = await customer_360(conn, uuid.uuid4())
    assert unknown is None
    assert view is not None
    assert (view.agreements, view.open_cases, view.tags) == ((), (), ())
    assert (
        view.figures.last_seen is None and view.figures.csat_average is None and view.figures.csat_count == 0
    )
