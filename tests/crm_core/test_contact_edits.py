"""Editing a contact's own fields and recording who saw payment fields: audited, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.contacts import get_contact, merge_contacts, record_payment_view, update_contact
from crm_core.db import Database, new_id
from crm_core.errors import Conflict, ContactNotFound
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import AuditEntry, EventRecord

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
ACTOR = "agent:0190d9a3-0000-7000-8000-000000000001"


async def _contact(conn: AsyncConnection, sender: str, display_name: str | None = None) -> uuid.UUID:
    record = InboundRecord(
        channel="api",
        account="default",
        external_id=sender,
        external_message_id=f"{sender}-1",
        thread_key=sender,
        occurred_at=NOW,
        source_kind="text",
        text="hello",
        display_name=display_name,
    )
    [outcome], _ = await record_inbound(conn, [record], NOW)
    return outcome.contact_id


async def _audit(conn: AsyncConnection, action: str) -> list[Any]:
    return list(await conn.execute(select(AuditEntry.__table__).where(AuditEntry.action == action)))


async def test_an_edit_changes_the_fields_and_is_audited_with_old_and_new_values(database: Database) -> None:
    later = NOW + timedelta(minutes=5)
    async with database.writer.begin() as conn:
        contact_id = await _contact(conn, "c-edit", display_name="Noa")
        edit = await update_contact(
            conn,
            contact_id,
            {"display_name": "  נועה לוי ", "email": "noa@example.com", "phone": "+972 (50) 123-4567"},
            actor=ACTOR,
            now=later,
        )
    assert edit.changed == ("display_name", "email", "phone")
    assert edit.contact.display_name == "נועה לוי"
    assert edit.contact.phone == "+972501234567"
    assert edit.contact.updated_at == later
    async with database.reader.connect() as conn:
        stored = await get_contact(conn, contact_id)
        [entry] = await _audit(conn, "contact.updated")
        events = (await conn.execute(select(EventRecord.name))).scalars().all()
    assert stored is not None and stored.email == "noa@example.com"
    assert entry.actor == ACTOR and entry.subject_id == str(contact_id) and entry.occurred_at == later
    assert entry.detail["changes"]["display_name"] == {"from": "Noa", "to": "נועה לוי"}
    assert entry.detail["changes"]["email"] == {"from": None, "to": "noa@example.com"}
    assert "contact.updated" in events


async def test_persian_digits_and_language_tags_are_stored_in_their_usual_form(database: Database) -> None:
    async with database.writer.begin() as conn:
        contact_id = await _contact(conn, "c-fa")
        edit = await update_contact(
            conn, contact_id, {"phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹", "language": "FA-IR"}, actor=ACTOR, now=NOW
        )
    assert edit.contact.phone == "09123456789"
    assert edit.contact.language == "fa-IR"


async def test_null_or_blank_clears_a_field_and_an_unchanged_edit_writes_nothing(database: Database) -> None:
    async with database.writer.begin() as conn:
        contact_id = await _contact(conn, "c-clear", display_name="Dana")
        await update_contact(conn, contact_id, {"email": "dana@example.com"}, actor=ACTOR, now=NOW)
        cleared = await update_contact(conn, contact_id, {"email": "  "}, actor=ACTOR, now=NOW)
        same = await update_contact(conn, contact_id, {"display_name": "Dana"}, actor=ACTOR, now=NOW)
    assert cleared.changed == ("email",) and cleared.contact.email is None
    assert same.changed == () and same.events == ()
    async with database.reader.connect() as conn:
        assert len(await _audit(conn, "contact.updated")) == 2


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"email": "not an address"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"language": "english please"}, "language"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"display_name": 42}, "display_name"),
        ({"merged_into_id": None}, "not editable"),
    ],
)
async def test_a_field_that_cannot_be_stored_is_refused_and_nothing_changes(
    database: Database, changes: dict[str, object], problem: str
) -> None:
    async with database.writer.begin() as conn:
        contact_id = await _contact(conn, f"c-bad-{uuid.uuid4().hex[:6]}", display_name="Keep")
    with pytest.raises(ValueError, match=problem):
        async with database.writer.begin() as conn:
            await update_contact(conn, contact_id, changes, actor=ACTOR, now=NOW)
    async with database.reader.connect() as conn:
        stored = await get_contact(conn, contact_id)
        assert await _audit(conn, "contact.updated") == []
    assert stored is not None and stored.display_name == "Keep"


async def test_unknown_and_merged_away_contacts_are_refused(database: Database) -> None:
    async with database.writer.begin() as conn:
        survivor = await _contact(conn, "c-survivor")
        merged = await _contact(conn, "c-merged")
        await merge_contacts(conn, survivor, merged, actor=ACTOR, now=NOW)
    async with database.writer.begin() as conn:
        with pytest.raises(ContactNotFound):
            await update_contact(conn, new_id(), {"display_name": "x"}, actor=ACTOR, now=NOW)
        with pytest.raises(Conflict, match=str(survivor)):
            await update_contact(conn, merged, {"display_name": "x"}, actor=ACTOR, now=NOW)


async def test_a_payment_view_is_audited_with_who_which_contact_and_when(database: Database) -> None:
    agreements = [new_id(), new_id()]
    async with database.writer.begin() as conn:
        contact_id = await _contact(conn, "c-pay")
        await record_payment_view(conn, contact_id, agreements, actor=ACTOR, role="supervisor", now=NOW)
    async with database.reader.connect() as conn:
        [entry] = await _audit(conn, "contact.payment_viewed")
    assert entry.actor == ACTOR
    assert (entry.subject_type, entry.subject_id) == ("contact", str(contact_id))
    assert entry.occurred_at == NOW
    assert entry.detail == {"agreements": [str(a) for a in agreements], "role": "supervisor"}
