"""Identity resolution across channels: a verified number joins its contact; a shared name only suggests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm_core.contacts import update_contact
from crm_core.db import Database, table
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import ContactIdentity
from crm_core.models_messaging import MergeSuggestion

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _record(channel: str, sender: str, message_id: str, **extra: object) -> InboundRecord:
    return InboundRecord(
        channel=channel,
        account="+15550001111",
        external_id=sender,
        external_message_id=message_id,
        thread_key=sender,
        occurred_at=NOW,
        source_kind="text",
        text="hi",
        **extra,  # type: ignore[arg-type]
    )


async def _store(db: Database, *records: InboundRecord, now: datetime = NOW) -> list[str]:
    async with db.writer.begin() as conn:
        outcomes, _ = await record_inbound(conn, list(records), now)
    return [str(o.contact_id) for o in outcomes]


async def test_sms_then_whatsapp_from_the_same_verified_number_is_one_contact(database: Database) -> None:
    [sms] = await _store(
        database, _record("twilio_sms", "+972501234567", "SM1", phone="+972501234567", verified=True)
    )
    wa, cloud = await _store(
        database,
        _record("twilio_sms", "whatsapp:+972501234567", "SM2", phone="+972501234567", verified=True),
        _record("whatsapp_cloud", "+972501234567", "wamid.1", phone="+972501234567", verified=True),
    )
    assert sms == wa == cloud
    async with database.reader.connect() as conn:
        ids = (await conn.execute(select(table(ContactIdentity).c.contact_id))).scalars().all()
    assert len(ids) == 3 and {str(i) for i in ids} == {sms}


async def test_two_new_verified_identities_with_one_number_in_one_batch_share_a_new_contact(
    database: Database,
) -> None:
    first, second = await _store(
        database,
        _record("twilio_sms", "+15551230000", "SM1", phone="+15551230000", verified=True),
        _record("whatsapp_cloud", "+15551230000", "wamid.1", phone="+15551230000", verified=True),
    )
    assert first == second


async def test_an_unverified_phone_hint_never_joins_a_contact(database: Database) -> None:
    [owner] = await _store(
        database, _record("twilio_sms", "+15551230000", "SM1", phone="+15551230000", verified=True)
    )
    [other] = await _store(database, _record("api", "someone", "api-1", phone="+15551230000"))
    assert owner != other


async def test_a_different_address_sharing_only_a_display_name_is_suggested_not_merged(
    database: Database,
) -> None:
    [dana] = await _store(
        database,
        _record(
            "twilio_sms", "+15551230000", "SM1", phone="+15551230000", verified=True, display_name="Dana Levi"
        ),
    )
    [other] = await _store(
        database,
        _record("telegram", "777", "777:1", display_name="dana levi"),
        now=NOW + timedelta(minutes=1),
    )
    assert other != dana
    async with database.reader.connect() as conn:
        rows = (await conn.execute(select(table(MergeSuggestion)))).all()
    assert [(str(r.contact_id), str(r.candidate_id), r.reason) for r in rows] == [
        (other, dana, "same display name")
    ]


async def test_the_last_inbound_time_never_moves_back_and_stop_start_are_recorded(database: Database) -> None:
    sender = "+15551230000"
    await _store(database, _record("twilio_sms", sender, "SM1", opt_change="out"), now=NOW)
    earlier = NOW - timedelta(hours=1)
    late = InboundRecord(
        channel="twilio_sms",
        account="+15550001111",
        external_id=sender,
        external_message_id="SM0",
        thread_key=sender,
        occurred_at=earlier,
        source_kind="text",
        text="old",
    )
    await _store(database, late)
    async with database.reader.connect() as conn:
        row = (await conn.execute(select(table(ContactIdentity)))).one()
    assert row.last_inbound_at == NOW and row.opted_out_at == NOW
    await _store(
        database, _record("twilio_sms", sender, "SM2", opt_change="in"), now=NOW + timedelta(minutes=5)
    )
    async with database.reader.connect() as conn:
        row = (await conn.execute(select(table(ContactIdentity)))).one()
    assert row.opted_out_at is None


async def test_a_number_typed_into_a_contact_never_pulls_in_verified_traffic(database: Database) -> None:
    [edited] = await _store(database, _record("api", "someone", "api-1"))
    async with database.writer.begin() as conn:
        await update_contact(conn, uuid.UUID(edited), {"phone": "+15551239999"}, actor="agent:x", now=NOW)
    [stranger] = await _store(
        database, _record("twilio_sms", "+15551239999", "SM9", phone="+15551239999", verified=True)
    )
    assert stranger != edited
    # The stranger's own verified number is theirs from now on.
    [again] = await _store(
        database, _record("whatsapp_cloud", "+15551239999", "wamid.9", phone="+15551239999", verified=True)
    )
    assert again == stranger
