"""Through the real hub: a visitor's WebSocket message is stored as an interaction, a reply comes back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.webchat.conftest import ORIGIN, SECRET, closed, receive
from tests.waiting import eventually

ENV = {"SWITCHBOARD_WEBCHAT_ORIGINS": ORIGIN, "SWITCHBOARD_WEBCHAT_SECRET": SECRET}


async def visitor(hub: ChannelHub, token: str | None = None) -> tuple[aiohttp.ClientWebSocketResponse, Any]:
    ws = await hub.client.ws_connect("/webchat/ws", headers={"Origin": ORIGIN})
    await ws.send_json({"type": "hello", "token": token})
    return ws, await receive(ws)


async def test_a_websocket_message_is_stored_as_an_interaction(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    ws, welcome = await visitor(hub)
    assert welcome["type"] == "welcome", welcome
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "שלום 👋"})
    ack = await receive(ws)
    assert ack["type"] == "ack", ack
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "שלום 👋"})
    assert (await receive(ws))["duplicate"] is True
    await ws.close()

    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    [interaction] = (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    visitor_id = welcome["token"].split(".")[1]
    assert interaction["id"] == ack["id"]
    assert interaction["channel"] == "webchat" and interaction["account"] == "default"
    assert interaction["direction"] == "in" and interaction["text"] == "שלום 👋"
    assert interaction["external_message_id"] == f"{visitor_id}:c-1"


async def test_the_history_is_replayed_on_reconnect(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    ws, welcome = await visitor(hub)
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "first"})
    ack = await receive(ws)
    await ws.close()
    again, welcome_again = await visitor(hub, welcome["token"])
    assert [(h["id"], h["direction"], h["text"]) for h in welcome_again["history"]] == [
        (ack["id"], "in", "first")
    ]
    await again.close()


async def test_an_agent_reply_reaches_the_visitor_s_socket(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    ws, _ = await visitor(hub)
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "help?"})
    await receive(ws)
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    response = await hub.client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "בשמחה"}, headers=hub.auth
    )
    assert response.status == 202, await response.text()
    queued = await response.json()
    reply = await receive(ws)
    assert reply["type"] == "reply" and reply["text"] == "בשמחה" and reply["id"] == queued["interaction_id"]

    def status_is(wanted: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            path = f"/api/v1/conversations/{conversation['id']}/interactions"
            items = (await hub.get_json(path))["items"]
            return next(i for i in items if i["id"] == reply["id"])["delivery_status"] == wanted

        return check

    # A report is only kept once the outbox has stored the reply as sent (see the channel's README).
    await eventually(status_is("sent"), what="the reply stored as sent")
    await ws.send_json({"type": "ping"})
    await receive(ws)
    await eventually(status_is("delivered"), what="the reply marked delivered")
    await ws.send_json({"type": "read", "ids": [reply["id"]]})
    await ws.close()
    await eventually(status_is("read"), what="the reply marked read")


async def test_the_widget_and_the_origin_check_are_mounted_under_webchat(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    script = await hub.client.get("/webchat/widget.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    refused = await hub.client.get(
        "/webchat/ws",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert refused.status == 403 and (await refused.json())["error"] == "forbidden_origin"


async def test_a_forged_token_is_refused_by_the_hub(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    ws, error = await visitor(hub, "v1.AAAAAAAAAAAAAAAAAAAAAA.forged")
    assert error["code"] == "bad_token"
    assert await closed(ws) == 4401
    assert (await hub.get_json("/api/v1/conversations"))["items"] == []


async def test_stopping_the_hub_closes_open_sockets_at_once(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    ws, welcome = await visitor(hub)
    assert welcome["type"] == "welcome"
    # What aiohttp runs first when the server stops: without it, the open socket holds the shutdown up.
    await hub.app.shutdown()
    assert await closed(ws) == 1001
