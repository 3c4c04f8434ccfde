"""REST for the customer panel: who is signed in, editing a contact, and the audit of payment-field views."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert, select

from crm_core.accounts import AgentView, create_agent, create_token
from crm_core.db import new_id
from crm_core.models import Agreement, AuditEntry, Role, SlaTier
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.hub.conftest import Hub

PASSWORD = "correct horse battery"


async def _customer(hub: Hub, sender: str, name: str = "Reza Karimi") -> str:
    body = {"message_id": uuid.uuid4().hex, "sender": {"id": sender, "name": name}, "text": "hello"}
    response = await hub.send(body)
    assert response.status == 200, await response.text()
    return str((await response.json())["contact_id"])


async def _agent(hub: Hub, role: Role, email: str) -> tuple[AgentView, dict[str, str]]:
    """An agent of this role and the headers of a token that belongs to them."""
    async with hub.app[DATABASE].writer.begin() as conn:
        agent = await create_agent(
            conn, name=f"{role.value.title()} Person", email=email, role=role, password=PASSWORD, now=utcnow()
        )
        token, _ = await create_token(conn, name=f"t-{email}", role=role, agent_id=agent.id, now=utcnow())
    return agent, {"Authorization": f"Bearer {token}"}


async def _audit(hub: Hub, action: str) -> list[Any]:
    async with hub.app[DATABASE].reader.connect() as conn:
        query = select(AuditEntry.__table__).where(AuditEntry.action == action)
        return list(await conn.execute(query))


async def _patch(hub: Hub, contact: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    auth = headers or {"Authorization": f"Bearer {hub.token}"}
    return await hub.client.patch(f"/api/v1/contacts/{contact}", json=body, headers=auth)


async def test_the_session_names_the_signed_in_agent(hub: Hub) -> None:
    agent, _ = await _agent(hub, Role.AGENT, "noa@example.com")
    signed_in = await hub.client.post("/api/v1/session", json={"email": agent.email, "password": PASSWORD})
    assert signed_in.status == 200
    me = await (await hub.client.get("/api/v1/session")).json()
    named = {key: me["agent"][key] for key in ("id", "name", "email", "role")}
    assert named == {"id": str(agent.id), "name": "Agent Person", "email": agent.email, "role": "agent"}
    assert me["role"] == "agent" and me["agent_id"] == str(agent.id)

    # A service token belongs to no agent.
    service = await hub.client.get("/api/v1/session", headers={"Authorization": f"Bearer {hub.token}"})
    assert (await service.json())["agent"] is None


async def test_an_agent_edits_a_contact_and_the_audit_log_names_them(hub: Hub) -> None:
    contact = await _customer(hub, "edit-1")
    agent, headers = await _agent(hub, Role.AGENT, "dana@example.com")
    response = await _patch(
        hub, contact, {"display_name": "Reza K.", "email": "reza@example.com", "language": "fa"}, headers
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["changed"] == ["display_name", "email", "language"]
    assert body["contact"]["display_name"] == "Reza K." and body["contact"]["language"] == "fa"
    shown = await (await hub.get(f"/api/v1/contacts/{contact}")).json()
    assert shown["email"] == "reza@example.com"
    [entry] = await _audit(hub, "contact.updated")
    assert entry.actor == f"agent:{agent.id}" and entry.subject_id == contact
    assert entry.detail["changes"]["display_name"] == {"from": "Reza Karimi", "to": "Reza K."}


async def test_a_bad_edit_is_refused_naming_the_problem(hub: Hub) -> None:
    contact = await _customer(hub, "edit-2")
    bad = await _patch(hub, contact, {"email": "nope"})
    assert bad.status == 400
    assert (await bad.json())["error"] == "invalid_field"
    unknown = await _patch(hub, contact, {"organisation_id": None})
    assert unknown.status == 400 and "not editable" in (await unknown.json())["detail"]
    assert (await _patch(hub, contact, ["display_name"])).status == 400
    assert (await _patch(hub, str(uuid.uuid4()), {"display_name": "x"})).status == 404

    merged = await _customer(hub, "edit-3")
    merge = await hub.client.post(
        f"/api/v1/contacts/{contact}/merge",
        json={"merge_id": merged},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert merge.status == 200
    gone = await _patch(hub, merged, {"display_name": "x"})
    assert gone.status == 409 and (await gone.json())["error"] == "contact_merged"


async def _agreement(hub: Hub, contact: str) -> uuid.UUID:
    agreement_id = new_id()
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            insert(SlaTier).values(name="gold", first_response_seconds=900, resolution_seconds=3600)
        )
        await conn.execute(
            insert(Agreement).values(
                id=agreement_id,
                contact_id=uuid.UUID(contact),
                product="Fibre",
                sla_tier="gold",
                entitlements=[],
                payment_plan="monthly",
                payment_status="overdue",
                starts_on=date(2026, 1, 1),
                ends_on=None,
                created_at=utcnow(),
            )
        )
    return agreement_id


async def test_every_view_of_payment_fields_is_audited_and_agents_never_get_them(hub: Hub) -> None:
    contact = await _customer(hub, "pay-1")
    agreement_id = await _agreement(hub, contact)
    _agent_view, agent_headers = await _agent(hub, Role.AGENT, "agent@example.com")
    boss, boss_headers = await _agent(hub, Role.SUPERVISOR, "boss@example.com")
    path = f"/api/v1/contacts/{contact}/360"

    as_agent = await (await hub.client.get(path, headers=agent_headers)).json()
    assert "payment_status" not in as_agent["agreements"][0]
    assert "payment_plan" not in as_agent["agreements"][0]
    assert await _audit(hub, "contact.payment_viewed") == []  # nothing was shown, nothing to record

    for _ in range(2):
        as_boss = await (await hub.client.get(path, headers=boss_headers)).json()
        assert as_boss["agreements"][0]["payment_status"] == "overdue"
    entries = await _audit(hub, "contact.payment_viewed")
    assert len(entries) == 2  # every view, not only the first
    assert {(e.actor, e.subject_type, e.subject_id) for e in entries} == {
        (f"agent:{boss.id}", "contact", contact)
    }
    assert entries[0].detail == {"agreements": [str(agreement_id)], "role": "supervisor"}
    assert all(e.occurred_at is not None for e in entries)


async def test_a_contact_without_agreements_shows_no_payment_fields_and_logs_no_view(hub: Hub) -> None:
    contact = await _customer(hub, "pay-2")
    _boss, headers = await _agent(hub, Role.SUPERVISOR, "boss2@example.com")
    response = await hub.client.get(f"/api/v1/contacts/{contact}/360", headers=headers)
    assert response.status == 200
    assert await _audit(hub, "contact.payment_viewed") == []
