"""The hub's Inbox beyond plain ingest: NUL removal, kept-aside traffic, history, media, broadcast."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from hub.broadcast import MemoryBroadcast, RedisBroadcast, create_broadcast
from hub.keys import INBOX
from hub.messages import ExternalIdentity, KeptAside, utcnow
from tests.hub.conftest import Hub, start_test_hub
from tests.servers import REDIS_URL, require_redis
from tests.waiting import eventually


async def _stored(hub: Hub, conversation_id: str) -> list[dict[str, Any]]:
    page = await (await hub.get(f"/api/v1/conversations/{conversation_id}/interactions")).json()
    return list(page["items"])


async def test_nul_characters_are_removed_with_a_log_line_and_the_rest_kept_byte_exact(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    text = "שלום\x00 سلام 👋🏽 hello\x00"
    with caplog.at_level(logging.WARNING, logger="hub.inbox"):
        response = await hub.send({"message_id": "nul-1", "sender": {"id": "u-nul"}, "text": text})
    assert response.status == 200
    stored = await _stored(hub, (await response.json())["conversation_id"])
    assert stored[0]["text"] == "שלום سلام 👋🏽 hello"
    assert any("nul-1" in record.getMessage() and "NUL" in record.getMessage() for record in caplog.records)


async def test_kept_aside_traffic_is_listed_with_its_reason_and_a_redelivery_is_kept_once(hub: Hub) -> None:
    item = KeptAside(
        channel="api",
        account="default",
        reason="malformed: no sender",
        body=b'{"broken": true}',
        content_type="application/json",
        received_at=utcnow(),
        provider_id="p-1",
    )
    await hub.app[INBOX].keep_aside([item])
    await hub.app[INBOX].keep_aside([item])
    page = await (await hub.get("/api/v1/kept-aside?channel=api")).json()
    [listed] = page["items"]
    assert (listed["reason"], listed["provider_id"], listed["content_type"]) == (
        "malformed: no sender",
        "p-1",
        "application/json",
    )
    raw = await hub.get(f"/api/v1/kept-aside/{listed['id']}/body")
    assert await raw.read() == b'{"broken": true}'


async def test_history_shows_the_visible_turns_of_the_identitys_conversation(hub: Hub) -> None:
    response = await hub.send({"message_id": "h-1", "sender": {"id": "u-h"}, "text": "first"})
    conversation_id = (await response.json())["conversation_id"]
    await hub.send({"message_id": "h-2", "sender": {"id": "u-h"}, "text": "second"})
    headers = {"Authorization": f"Bearer {hub.token}"}
    note = {"text": "internal only", "private": True}
    await hub.client.post(f"/api/v1/conversations/{conversation_id}/messages", json=note, headers=headers)
    history = await hub.app[INBOX].history(ExternalIdentity("api", "default", "u-h"))
    assert [(h.direction, h.text) for h in history] == [("in", "first"), ("in", "second")]
    assert await hub.app[INBOX].history(ExternalIdentity("api", "default", "nobody")) == []


@pytest.fixture
async def file_server(aiohttp_server: Any) -> Any:
    app = web.Application()

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG fake image bytes", content_type="image/png")

    async def big(_request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 4096, content_type="image/png")

    app.router.add_get("/a.png", image)
    app.router.add_get("/big.png", big)
    app.router.add_get("/page.html", image)
    return await aiohttp_server(app)


async def test_attachments_are_downloaded_into_storage_and_served_only_to_signed_in_users(
    runtime: dict[str, str], file_server: Any, aiohttp_client: Any
) -> None:
    hub = await start_test_hub({**runtime, "SWITCHBOARD_MEDIA_MAX_BYTES": "2048"}, aiohttp_client)
    body = {
        "message_id": "media-1",
        "sender": {"id": "u-media"},
        "attachments": [
            {"url": str(file_server.make_url("/a.png")), "content_type": "image/png"},
            {"url": str(file_server.make_url("/big.png")), "content_type": "image/png"},
            {"url": str(file_server.make_url("/page.html")), "content_type": "text/html"},
        ],
    }
    conversation_id = (await (await hub.send(body)).json())["conversation_id"]

    async def stored() -> list[dict[str, Any]] | None:
        [item] = await _stored(hub, conversation_id)
        attachments = item["attachments"]
        return attachments if all("stored_id" in a or "store_error" in a for a in attachments) else None

    image, big, page = await eventually(stored, what="attachments stored")
    assert "larger than 2048" in big["store_error"]
    assert "text/html is not stored" in page["store_error"]
    served = await hub.get(image["stored_url"])
    assert served.status == 200 and await served.read() == b"\x89PNG fake image bytes"
    assert served.headers["Content-Type"] == "image/png"
    assert (await hub.client.get(image["stored_url"])).status == 401


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_broadcast_reaches_every_subscriber_of_a_topic_and_no_other(kind: str) -> None:
    if kind == "redis":
        require_redis()
    broadcast = create_broadcast(REDIS_URL if kind == "redis" else None)
    assert isinstance(broadcast, RedisBroadcast if kind == "redis" else MemoryBroadcast)
    try:
        async with (
            broadcast.subscribe("t.a") as first,
            broadcast.subscribe("t.a") as second,
            broadcast.subscribe("t.b") as other,
        ):
            await broadcast.publish("t.a", b"hello")
            assert await anext(first) == b"hello"
            assert await anext(second) == b"hello"
            await broadcast.publish("t.b", b"only b")
            assert await anext(other) == b"only b"
    finally:
        await broadcast.close()
