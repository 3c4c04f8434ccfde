"""The console's live socket: a signed-in agent sees a message a channel just stored, without reloading."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest

from crm_core.accounts import create_agent
from crm_core.models import Role
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.hub.conftest import Hub

PASSWORD = "correct horse battery"


@pytest.fixture
async def signed_in(hub: Hub) -> Hub:
    async with hub.app[DATABASE].writer.begin() as conn:
        await create_agent(
            conn, name="Noa", email="noa@example.com", role=Role.AGENT, password=PASSWORD, now=utcnow()
        )
    response = await hub.client.post(
        "/api/v1/session", json={"email": "noa@example.com", "password": PASSWORD}
    )
    assert response.status == 200
    return hub


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
    return dict(orjson.loads(message.data))


async def test_a_stored_message_reaches_an_open_console_at_once(signed_in: Hub) -> None:
    ws = await signed_in.client.ws_connect("/ws/console")
    assert (await _frame(ws))["type"] == "hello"
    sent = await signed_in.send({"message_id": "live-1", "sender": {"id": "c-9"}, "text": "are you there?"})
    stored = await sent.json()
    seen: list[dict[str, Any]] = []
    while not any(e["name"] == "interaction.created" for e in seen):
        frame = await _frame(ws)  # at most 5 s each
        seen += frame["events"]
    [created] = [e for e in seen if e["name"] == "interaction.created"]
    assert created["payload"]["interaction_id"] == stored["interaction_id"]
    assert created["payload"]["conversation_id"] == stored["conversation_id"]
    await ws.close()


async def test_the_console_socket_needs_a_session_and_the_hubs_own_origin(signed_in: Hub) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await signed_in.client.ws_connect("/ws/console", headers={"Origin": "https://evil.example"})
    assert foreign.value.status == 403
    signed_in.client.session.cookie_jar.clear()
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await signed_in.client.ws_connect("/ws/console")
    assert anonymous.value.status == 401
