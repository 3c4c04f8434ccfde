"""Work on a conversation through the API: assign, transfer with a note, resolve, reopen, snooze."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from crm_core.accounts import create_agent
from crm_core.models import AuditEntry, Role, Team
from hub.keys import DATABASE, SNOOZE
from hub.messages import utcnow
from tests.hub.conftest import Hub


async def _setup(hub: Hub) -> tuple[str, str, str]:
    sent = await hub.send({"message_id": "w-1", "sender": {"id": "c-1"}, "text": "help"})
    conversation_id = (await sent.json())["conversation_id"]
    team_id = uuid.uuid4()
    async with hub.app[DATABASE].writer.begin() as conn:
        agent = await create_agent(
            conn,
            name="Amir",
            email=f"amir-{team_id.hex[:6]}@example.com",
            role=Role.AGENT,
            password=None,
            now=utcnow(),
        )
        await conn.execute(insert(Team).values(id=team_id, name=f"billing-{team_id.hex[:6]}"))
    return conversation_id, str(agent.id), str(team_id)


async def _post(hub: Hub, path: str, body: dict[str, Any] | None = None) -> Any:
    return await hub.client.post(path, json=body or {}, headers={"Authorization": f"Bearer {hub.token}"})


async def _conversation(hub: Hub, conversation_id: str) -> dict[str, Any]:
    return dict(await (await hub.get(f"/api/v1/conversations/{conversation_id}")).json())


async def test_assign_transfer_resolve_reopen(hub: Hub) -> None:
    conversation_id, agent_id, team_id = await _setup(hub)
    base = f"/api/v1/conversations/{conversation_id}"

    assert (await _post(hub, base + "/assign", {"agent_id": agent_id})).status == 200
    assert (await _conversation(hub, conversation_id))["assignee_id"] == agent_id
    missing = await _post(hub, base + "/assign", {"agent_id": str(uuid.uuid4())})
    assert missing.status == 404
    me = await _post(hub, base + "/assign", {"agent_id": "me"})
    assert me.status == 400  # the test's admin token belongs to no agent

    moved = await _post(hub, base + "/transfer", {"team_id": team_id, "note": "billing question, VIP"})
    assert moved.status == 200
    conversation = await _conversation(hub, conversation_id)
    assert (conversation["assignee_id"], conversation["team_id"]) == (None, team_id)
    items = (await (await hub.get(base + "/interactions")).json())["items"]
    assert [(i["kind"], i["private"], i["text"]) for i in items if i["kind"] == "note"] == [
        ("note", True, "billing question, VIP")
    ]

    assert (await _post(hub, base + "/resolve")).status == 200
    assert (await _conversation(hub, conversation_id))["status"] == "resolved"
    assert (await _post(hub, base + "/reopen")).status == 200
    assert (await _conversation(hub, conversation_id))["status"] == "open"

    async with hub.app[DATABASE].reader.connect() as conn:
        actions = (
            await conn.execute(
                select(AuditEntry.action, func.count())
                .where(AuditEntry.subject_id == conversation_id)
                .group_by(AuditEntry.action)
            )
        ).all()
    assert dict(actions) == {
        "conversation.assigned": 1,
        "conversation.transferred": 1,
        "conversation.resolved": 1,
        "conversation.reopened": 1,
    }


async def test_snooze_until_a_time_then_back_in_the_inbox(hub: Hub) -> None:
    conversation_id, _agent, _team = await _setup(hub)
    path = f"/api/v1/conversations/{conversation_id}/snooze"
    past = await _post(hub, path, {"until": (utcnow() - timedelta(minutes=1)).isoformat()})
    assert past.status == 400
    naive = await _post(hub, path, {"until": "2030-01-01T09:00:00"})
    assert naive.status == 400
    until = utcnow() + timedelta(hours=2)
    assert (await _post(hub, path, {"until": until.isoformat()})).status == 200
    assert (await _conversation(hub, conversation_id))["status"] == "pending"
    assert await hub.app[SNOOZE].wake() == 0
    assert await hub.app[SNOOZE].wake(until + timedelta(seconds=1)) == 1
    assert (await _conversation(hub, conversation_id))["status"] == "open"


async def test_work_on_an_unknown_conversation_is_404(hub: Hub) -> None:
    response = await _post(hub, f"/api/v1/conversations/{uuid.uuid4()}/resolve")
    assert response.status == 404
