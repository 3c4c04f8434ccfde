"""Console sign-in: session cookies, CSRF on state changes, expiry, sign-out, and the lockout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from crm_core.accounts import create_agent
from crm_core.models import ApiToken, Role
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.hub.conftest import Hub

PASSWORD = "correct horse battery"


@pytest.fixture
async def agent(hub: Hub) -> str:
    async with hub.app[DATABASE].writer.begin() as conn:
        await create_agent(
            conn, name="Noa Cohen", email="noa@example.com", role=Role.AGENT, password=PASSWORD, now=utcnow()
        )
    return "noa@example.com"


async def _sign_in(hub: Hub, email: str, password: str = PASSWORD) -> Any:
    return await hub.client.post("/api/v1/session", json={"email": email, "password": password})


async def test_sign_in_sets_an_httponly_session_and_a_csrf_token(hub: Hub, agent: str) -> None:
    response = await _sign_in(hub, agent)
    assert response.status == 200
    body = await response.json()
    assert body["agent"]["role"] == "agent" and body["csrf_token"]
    session = response.cookies["sb_session"]
    assert session["httponly"] and session["samesite"] == "Strict"
    assert response.cookies["sb_csrf"].value == body["csrf_token"]
    # The client keeps the cookies: the API now answers without a bearer token.
    me = await hub.client.get("/api/v1/session")
    assert me.status == 200 and (await me.json())["role"] == "agent"
    assert (await hub.client.get("/api/v1/contacts")).status == 200


async def test_a_state_change_by_cookie_needs_the_csrf_header(hub: Hub, agent: str) -> None:
    sent = await hub.send({"message_id": "s-1", "sender": {"id": "c-1"}, "text": "hi"})
    conversation_id = (await sent.json())["conversation_id"]
    csrf = (await (await _sign_in(hub, agent)).json())["csrf_token"]
    path = f"/api/v1/conversations/{conversation_id}/messages"
    note = {"text": "noted", "private": True}
    refused = await hub.client.post(path, json=note)
    assert refused.status == 403 and (await refused.json())["error"] == "csrf_failed"
    wrong = await hub.client.post(path, json=note, headers={"X-CSRF-Token": "guess"})
    assert wrong.status == 403
    accepted = await hub.client.post(path, json=note, headers={"X-CSRF-Token": csrf})
    assert accepted.status == 202


async def test_wrong_passwords_lock_the_account_for_a_while(hub: Hub, agent: str) -> None:
    for _ in range(5):
        response = await _sign_in(hub, agent, "wrong password")
        assert response.status == 401 and (await response.json())["error"] == "bad_credentials"
    locked = await _sign_in(hub, agent)
    assert locked.status == 429 and (await locked.json())["error"] == "sign_in_locked"


async def test_sign_out_and_expiry_end_the_session(hub: Hub, agent: str) -> None:
    csrf = (await (await _sign_in(hub, agent)).json())["csrf_token"]
    out = await hub.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status == 200
    hub.client.session.cookie_jar.clear()

    response = await _sign_in(hub, agent)
    token = response.cookies["sb_session"].value
    hub.client.session.cookie_jar.clear()
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await hub.client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert expired.status == 401


async def test_a_signed_out_session_no_longer_works(hub: Hub, agent: str) -> None:
    response = await _sign_in(hub, agent)
    token = response.cookies["sb_session"].value
    csrf = (await response.json())["csrf_token"]
    assert (await hub.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status == 200
    again = await hub.client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert again.status == 401
