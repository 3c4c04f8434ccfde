"""Administration over REST (admin only, CSRF on cookies), availability, and round-robin through the bus.

Runs on the embedded default (SQLite + in-process bus) and scaled out (PostgreSQL + Redis).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from crm_core.accounts import create_agent
from crm_core.context import record_handover
from crm_core.models import Agent, AuditEntry, Role
from hub.keys import ASSIGNER, DATABASE, INBOX, PIPELINE
from hub.messages import ExternalIdentity, InboundKind, InboundMessage, utcnow
from tests.hub.conftest import Hub
from tests.hub.test_openapi import _check
from tests.waiting import eventually

PASSWORD = "correct horse battery"


async def _call(hub: Hub, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """An admin call with the test's bearer token; answers (status, JSON)."""
    response = await hub.client.request(
        method, f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {hub.token}"}
    )
    return response.status, await response.json()


async def _person(hub: Hub, role: Role, name: str) -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    async with hub.app[DATABASE].writer.begin() as conn:
        await create_agent(conn, name=name, email=email, role=role, password=PASSWORD, now=utcnow())
    return email


async def _sign_in(hub: Hub, email: str) -> str:
    response = await hub.client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status == 200
    return str((await response.json())["csrf_token"])


async def test_agents_and_supervisors_may_read_the_pickers_but_not_administer(hub: Hub) -> None:
    for role in (Role.AGENT, Role.SUPERVISOR):
        hub.client.session.cookie_jar.clear()
        csrf = await _sign_in(hub, await _person(hub, role, "Worker"))
        headers = {"X-CSRF-Token": csrf}
        for path in ("/agents", "/teams", "/skills", "/canned-responses"):
            assert (await hub.client.get(f"/api/v1{path}")).status == 200, path
        refused = [
            await hub.client.post("/api/v1/agents", json={"name": "X"}, headers=headers),
            await hub.client.put(f"/api/v1/agents/{uuid.uuid4()}", json={}, headers=headers),
            await hub.client.post("/api/v1/teams", json={"name": "X"}, headers=headers),
            await hub.client.delete(f"/api/v1/skills/{uuid.uuid4()}", headers=headers),
            await hub.client.get("/api/v1/channel-accounts"),
            await hub.client.post("/api/v1/channel-accounts", json={}, headers=headers),
            await hub.client.post("/api/v1/canned-responses", json={}, headers=headers),
            await hub.client.put(f"/api/v1/canned-responses/{uuid.uuid4()}", json={}, headers=headers),
        ]
        assert [r.status for r in refused] == [403] * len(refused), role
        assert {(await r.json())["error"] for r in refused} == {"forbidden"}
        # A non-admin sees colleagues for the pickers, not their contact details or limits.
        agents = (await (await hub.client.get("/api/v1/agents")).json())["items"]
        assert set(agents[0]) == {"id", "name", "role", "availability", "teams"}


async def test_an_admin_by_cookie_needs_the_csrf_token(hub: Hub) -> None:
    csrf = await _sign_in(hub, await _person(hub, Role.ADMIN, "Ada"))
    canned = {"shortcut": "hi", "title": "Greeting", "text": "Hello {{contact.name}}"}
    refused = await hub.client.post("/api/v1/canned-responses", json=canned)
    assert refused.status == 403 and (await refused.json())["error"] == "csrf_failed"
    accepted = await hub.client.post("/api/v1/canned-responses", json=canned, headers={"X-CSRF-Token": csrf})
    assert accepted.status == 201


async def test_agents_teams_and_skills_are_administered(hub: Hub) -> None:
    status, team = await _call(hub, "POST", "/teams", {"name": "Billing"})
    assert status == 201
    assert (await _call(hub, "POST", "/teams", {"name": "billing"}))[0] == 409
    status, skill = await _call(hub, "POST", "/skills", {"name": "Hebrew"})
    assert status == 201
    new_agent = {
        "name": "Noa",
        "email": "Noa@Example.com",
        "password": PASSWORD,
        "role": "agent",
        "teams": [team["id"]],
        "skills": [{"id": skill["id"], "level": 4}],
        "max_open": 3,
        "phone": "+972525550100",
    }
    status, agent = await _call(hub, "POST", "/agents", new_agent)
    assert status == 201, agent
    assert (agent["email"], agent["max_open"], agent["availability"]) == ("noa@example.com", 3, "offline")
    assert agent["teams"] == [team] and agent["skills"] == [{**skill, "level": 4}]
    assert (await _call(hub, "POST", "/agents", new_agent))[0] == 409
    assert (await _call(hub, "POST", "/agents", {**new_agent, "email": "x@example.com", "role": "root"}))[
        0
    ] == 400
    # The new agent signs in with the password the admin gave.
    await _sign_in(hub, "noa@example.com")
    hub.client.session.cookie_jar.clear()

    status, renamed = await _call(hub, "PUT", f"/teams/{team['id']}", {"name": "Billing & Payments"})
    assert (status, renamed["name"]) == (200, "Billing & Payments")
    status, changed = await _call(
        hub,
        "PUT",
        f"/agents/{agent['id']}",
        {"name": "Noa Levi", "max_open": 5, "teams": [], "active": False},
    )
    assert status == 200
    assert (changed["name"], changed["max_open"], changed["teams"], changed["active"]) == (
        "Noa Levi",
        5,
        [],
        False,
    )
    assert (await _call(hub, "PUT", f"/agents/{uuid.uuid4()}", {"name": "X"}))[0] == 404
    assert (await _call(hub, "PUT", f"/agents/{agent['id']}", {"teams": [str(uuid.uuid4())]}))[0] == 404
    assert (await _call(hub, "DELETE", f"/skills/{skill['id']}"))[0] == 200
    assert (await _call(hub, "GET", "/skills"))[1]["items"] == []
    async with hub.app[DATABASE].reader.connect() as conn:
        actions = set((await conn.execute(select(AuditEntry.action))).scalars())
    assert {"agent.created", "agent.updated", "team.created", "team.renamed", "skill.deleted"} <= actions


async def test_canned_responses_crud(hub: Hub) -> None:
    body = {"shortcut": "thanks", "title": "Thanks", "text": "Thank you, {{contact.name}}!", "language": "en"}
    status, created = await _call(hub, "POST", "/canned-responses", body)
    assert status == 201
    assert (await _call(hub, "POST", "/canned-responses", body))[0] == 409
    assert (await _call(hub, "POST", "/canned-responses", {"shortcut": "x"}))[0] == 400
    status, changed = await _call(hub, "PUT", f"/canned-responses/{created['id']}", {"text": "Merci!"})
    assert (status, changed["text"], changed["shortcut"]) == (200, "Merci!", "thanks")
    items = (await _call(hub, "GET", "/canned-responses"))[1]["items"]
    assert [(i["shortcut"], i["title"], i["text"], i["language"]) for i in items] == [
        ("thanks", "Thanks", "Merci!", "en")
    ]
    assert (await _call(hub, "DELETE", f"/canned-responses/{created['id']}"))[0] == 200
    assert (await _call(hub, "DELETE", f"/canned-responses/{created['id']}"))[0] == 404
    assert (await _call(hub, "GET", "/canned-responses"))[1]["items"] == []


async def test_availability_is_set_shown_and_cleared_by_sign_out(hub: Hub) -> None:
    email = await _person(hub, Role.AGENT, "Dana")
    csrf = await _sign_in(hub, email)
    headers = {"X-CSRF-Token": csrf}
    bad = await hub.client.put("/api/v1/session/availability", json={"availability": "busy"}, headers=headers)
    assert bad.status == 400
    ok = await hub.client.put(
        "/api/v1/session/availability", json={"availability": "online"}, headers=headers
    )
    assert ok.status == 200 and (await ok.json())["availability"] == "online"
    me = await (await hub.client.get("/api/v1/session")).json()
    assert me["agent"]["availability"] == "online"
    assert (await hub.client.delete("/api/v1/session", headers=headers)).status == 200
    async with hub.app[DATABASE].reader.connect() as conn:
        left = (await conn.execute(select(Agent.availability).where(Agent.email == email))).scalar()
    assert left == "offline"
    # A token of no agent has no availability to set.
    status, _ = await _call(hub, "PUT", "/session/availability", {"availability": "online"})
    assert status == 400


async def _assignee(hub: Hub, conversation_id: str) -> Any:
    _status, conversation = await _call(hub, "GET", f"/conversations/{conversation_id}")
    return conversation["assignee_id"]


async def test_round_robin_over_the_bus_and_the_backlog_sweep(hub: Hub) -> None:
    first = await (await hub.send({"message_id": "rr-1", "sender": {"id": "c-1"}, "text": "hi"})).json()
    # The account appears in the administration once traffic arrived on it.
    accounts = await eventually(lambda: _items(hub, "/channel-accounts"), what="the api account to be listed")
    [account] = [a for a in accounts if a["channel"] == "api"]
    assert account["default_team_id"] is None
    status, team = await _call(hub, "POST", "/teams", {"name": f"Front {uuid.uuid4().hex[:4]}"})
    email = await _person(hub, Role.AGENT, "Avi")
    status, agents = await _call(hub, "GET", "/agents")
    avi = next(a for a in agents["items"] if a["name"] == "Avi")
    await _call(hub, "PUT", f"/agents/{avi['id']}", {"teams": [team["id"]], "max_open": 2})
    csrf = await _sign_in(hub, email)
    online = await hub.client.put(
        "/api/v1/session/availability", json={"availability": "online"}, headers={"X-CSRF-Token": csrf}
    )
    assert online.status == 200
    assert await _assignee(hub, first["conversation_id"]) is None  # its account has no team yet

    # Routing the account sweeps its waiting conversation to Avi; a new one goes straight to Avi.
    status, _ = await _call(hub, "PUT", f"/channel-accounts/{account['id']}", {"default_team_id": team["id"]})
    assert status == 200
    await eventually(lambda: _is(hub, first["conversation_id"], avi["id"]), what="the backlog sweep")
    second = await (await hub.send({"message_id": "rr-2", "sender": {"id": "c-2"}, "text": "hi"})).json()
    await eventually(lambda: _is(hub, second["conversation_id"], avi["id"]), what="round-robin")

    # Avi is at the limit: the third waits, with its team, until Avi resolves one.
    third = await (await hub.send({"message_id": "rr-3", "sender": {"id": "c-3"}, "text": "hi"})).json()
    await eventually(lambda: _team_is(hub, third["conversation_id"], team["id"]), what="routing to the team")
    assert await _assignee(hub, third["conversation_id"]) is None
    assert (await _call(hub, "POST", f"/conversations/{first['conversation_id']}/resolve"))[0] == 200
    await eventually(lambda: _is(hub, third["conversation_id"], avi["id"]), what="the sweep after resolve")


async def _items(hub: Hub, path: str) -> list[dict[str, Any]]:
    return list((await _call(hub, "GET", path))[1]["items"])


async def _is(hub: Hub, conversation_id: str, agent_id: str) -> bool:
    return bool(await _assignee(hub, conversation_id) == agent_id)


async def _team_is(hub: Hub, conversation_id: str, team_id: str) -> bool:
    _status, conversation = await _call(hub, "GET", f"/conversations/{conversation_id}")
    return bool(conversation["team_id"] == team_id)


async def test_answers_match_the_openapi_file(hub: Hub) -> None:
    headers = {"Authorization": f"Bearer {hub.token}"}

    async def call(method: str, path: str, spec_path: str, body: dict[str, Any] | None = None) -> Any:
        response = await hub.client.request(method, f"/api/v1{path}", json=body, headers=headers)
        return await _check(response, method, f"/api/v1{spec_path}")

    team = await call("POST", "/teams", "/teams", {"name": "Support"})
    await call("POST", "/teams", "/teams", {"name": "support"})  # 409
    skill = await call("POST", "/skills", "/skills", {"name": "Arabic"})
    agent = await call(
        "POST",
        "/agents",
        "/agents",
        {"name": "Omar", "email": "omar@example.com", "password": PASSWORD, "teams": [team["id"]]},
    )
    await call("PUT", f"/agents/{agent['id']}", "/agents/{id}", {"skills": [{"id": skill["id"], "level": 2}]})
    await call("GET", "/agents", "/agents")
    await call("GET", "/teams", "/teams")
    await call("PUT", f"/skills/{skill['id']}", "/skills/{id}", {"name": "Arabic (Gulf)"})
    await call("DELETE", f"/skills/{skill['id']}", "/skills/{id}")
    account = await call(
        "POST", "/channel-accounts", "/channel-accounts", {"channel": "twilio_sms", "account": "+15550001"}
    )
    await call(
        "PUT", f"/channel-accounts/{account['id']}", "/channel-accounts/{id}", {"default_team_id": team["id"]}
    )
    await call("GET", "/channel-accounts", "/channel-accounts")
    canned = await call(
        "POST", "/canned-responses", "/canned-responses", {"shortcut": "bye", "title": "Bye", "text": "Bye!"}
    )
    await call("PUT", f"/canned-responses/{canned['id']}", "/canned-responses/{id}", {"title": "Goodbye"})
    await call("GET", "/canned-responses", "/canned-responses")
    await call("DELETE", f"/canned-responses/{canned['id']}", "/canned-responses/{id}")
    await call("PUT", "/session/availability", "/session/availability", {"availability": "away"})  # 400


async def test_on_a_bot_channel_round_robin_waits_for_the_bots_handover(hub: Hub) -> None:
    hub.app[ASSIGNER].bot_channels = frozenset({"api"})
    _created, team = await _call(hub, "POST", "/teams", {"name": f"Bot front {uuid.uuid4().hex[:4]}"})
    email = await _person(hub, Role.AGENT, "Noa")
    _status, agents = await _call(hub, "GET", "/agents")
    noa = next(a for a in agents["items"] if a["name"] == "Noa")
    await _call(hub, "PUT", f"/agents/{noa['id']}", {"teams": [team["id"]]})
    csrf = await _sign_in(hub, email)
    await hub.client.put(
        "/api/v1/session/availability", json={"availability": "online"}, headers={"X-CSRF-Token": csrf}
    )
    first = await (await hub.send({"message_id": "bh-1", "sender": {"id": "b-1"}, "text": "hi"})).json()
    accounts = await eventually(lambda: _items(hub, "/channel-accounts"), what="the api account")
    [account] = [a for a in accounts if a["channel"] == "api"]
    await _call(hub, "PUT", f"/channel-accounts/{account['id']}", {"default_team_id": team["id"]})
    # The sweep after routing the account ran; the bot still has the conversation.
    await hub.app[ASSIGNER].sweep()
    assert await _assignee(hub, first["conversation_id"]) is None
    async with hub.app[DATABASE].writer.begin() as conn:
        events = await record_handover(
            conn, uuid.UUID(first["conversation_id"]), {"reason": "low_confidence"}, utcnow()
        )
    hub.app[PIPELINE].notify_committed(events)
    await eventually(lambda: _is(hub, first["conversation_id"], noa["id"]), what="assignment after handover")


async def test_a_demoted_or_reset_agent_loses_their_sessions_at_once(hub: Hub) -> None:
    email = await _person(hub, Role.ADMIN, "Ruth")
    await _sign_in(hub, email)
    assert (await hub.client.get("/api/v1/agents")).status == 200  # the cookie session works
    _status, agents = await _call(hub, "GET", "/agents")
    ruth = next(a for a in agents["items"] if a.get("email") == email)
    # An edit that changes neither role nor password keeps the session.
    assert (await _call(hub, "PUT", f"/agents/{ruth['id']}", {"max_open": 3, "role": "admin"}))[0] == 200
    assert (await hub.client.get("/api/v1/agents")).status == 200
    # Demoted: the old admin session is gone (not merely kept with its old role).
    assert (await _call(hub, "PUT", f"/agents/{ruth['id']}", {"role": "agent"}))[0] == 200
    assert (await hub.client.get("/api/v1/agents")).status == 401
    # Signed in again as an agent; a password reset ends that session too.
    await _sign_in(hub, email)
    assert (await hub.client.get("/api/v1/kept-aside")).status == 403  # now an agent
    assert (await _call(hub, "PUT", f"/agents/{ruth['id']}", {"password": "a new long password"}))[0] == 200
    assert (await hub.client.get("/api/v1/session")).status == 401


async def test_a_bounce_on_a_bot_channel_goes_to_people(hub: Hub) -> None:
    hub.app[ASSIGNER].bot_channels = frozenset({"api"})
    quiet, bounce = await hub.app[INBOX].ingest(
        [
            InboundMessage(
                identity=ExternalIdentity("api", "default", f"{kind}@example.com"),
                external_message_id=f"{kind}-{uuid.uuid4().hex}",
                thread_key=kind,
                kind=InboundKind.EVENT,
                received_at=utcnow(),
                text="550 mailbox unavailable",
                details={"machine": kind},
            )
            for kind in ("auto_reply", "bounce")
        ]
    )

    async def handed_over() -> dict[str, Any] | None:
        _status, conversation = await _call(hub, "GET", f"/conversations/{bounce.conversation_id}")
        return conversation if conversation["handed_over_at"] else None

    conversation = await eventually(handed_over, what="the bounce handed to people")
    assert conversation["handover"]["reason"] == "machine_mail_bounce"
    _status, other = await _call(hub, "GET", f"/conversations/{quiet.conversation_id}")
    assert other["handed_over_at"] is None  # an auto-reply stays with nobody
