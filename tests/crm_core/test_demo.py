"""The demo data set on SQLite and PostgreSQL: loads once, signs in, and is rich enough to show the 360."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm_core.accounts import authenticate_password
from crm_core.contacts import customer_360, search_contacts
from crm_core.conversations import list_conversations
from crm_core.db import Base, Database
from crm_core.demo import load_demo
from crm_core.models import Agent, Agreement, ContactIdentity, Interaction

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


async def _row_counts(database: Database) -> dict[str, int]:
    async with database.reader.connect() as conn:
        return {
            table.name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            for table in Base.metadata.sorted_tables
        }


async def test_demo_loads_once(database: Database) -> None:
    async with database.writer.begin() as conn:
        first = await load_demo(conn, NOW)
    after_first = await _row_counts(database)
    async with database.writer.begin() as conn:
        second = await load_demo(conn, NOW)
    assert first.created and not second.created
    assert await _row_counts(database) == after_first
    assert (first.contacts, first.organisations) == (10, 3) and first.agents >= 5
    assert after_first["contacts"] == first.contacts and after_first["interactions"] == first.interactions
    assert after_first["events"] == 0  # history, not news: nothing for the relay to announce
    assert (second.admin_email, second.admin_password) == (first.admin_email, first.admin_password)
    async with database.reader.connect() as conn:
        admin = await authenticate_password(conn, first.admin_email, first.admin_password)
    assert admin is not None and admin.role == "admin"


async def test_demo_covers_languages_channels_and_terms(database: Database) -> None:
    async with database.writer.begin() as conn:
        await load_demo(conn, NOW)
    async with database.reader.connect() as conn:
        channels = set((await conn.execute(select(ContactIdentity.channel))).scalars())
        statuses = set((await conn.execute(select(Agreement.payment_status))).scalars())
        tiers = set((await conn.execute(select(Agreement.sla_tier))).scalars())
        languages = {
            lang for langs in (await conn.execute(select(Agent.languages))).scalars() for lang in langs
        }
        notes = (await conn.execute(select(func.count()).where(Interaction.private.is_(True)))).scalar_one()
        directions = set((await conn.execute(select(Interaction.direction))).scalars())
        calls = (await conn.execute(select(Interaction.details).where(Interaction.kind == "call"))).scalars()
        mail_subjects = set(
            (
                await conn.execute(
                    select(Interaction.subject).where(
                        Interaction.channel == "email", Interaction.direction == "in"
                    )
                )
            ).scalars()
        )
        hebrew, persian, arabic = [await search_contacts(conn, q) for q in ("נועה", "مریم", "فاطمة")]
        open_conversations = await list_conversations(conn, status="open")
    assert channels == {"api", "twilio_sms", "whatsapp_cloud", "telegram", "email", "twilio_voice"}
    assert {d["call_status"] for d in calls} == {"ringing", "queued"}  # a call waits in the queue
    assert None not in mail_subjects and "Adding five more seats" in mail_subjects
    assert {"current", "overdue", "suspended"} <= statuses and tiers == {"standard", "priority", "premium"}
    assert {"he", "fa", "ar", "en"} <= languages
    assert notes >= 3 and directions == {"in", "out", "internal"}
    assert [len(found) for found in (hebrew, persian, arabic)] == [1, 1, 1]
    assert len(open_conversations) >= 5


async def test_demo_customer_360_shows_organisation_agreement_and_open_case(database: Database) -> None:
    async with database.writer.begin() as conn:
        await load_demo(conn, NOW)
    async with database.reader.connect() as conn:
        [noa] = await search_contacts(conn, "נועה לוי")
        view = await customer_360(conn, noa.id)
    assert view is not None and view.organisation_name is not None and "Galil" in view.organisation_name
    assert {i.channel for i in view.identities} == {"whatsapp_cloud", "twilio_sms", "email"}
    [agreement] = view.agreements
    assert (agreement.product, agreement.sla_tier, agreement.first_response_seconds) == (
        "Fleet Tracker Pro",
        "premium",
        900,
    )
    assert agreement.organisation_id == noa.organisation_id and agreement.contact_id is None
    assert [c.step for c in view.open_cases] == ["sim_check"]
    assert view.figures.cases_total == 2 and view.figures.csat_count == 1
    assert view.recent_interactions[0].occurred_at < NOW
    assert {i.channel for i in view.recent_interactions} == {"whatsapp_cloud", "email"}
    assert any(i.private for i in view.recent_interactions)
    assert set(view.tags) == {"vip", "fleet"}
