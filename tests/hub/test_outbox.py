"""Replies through the outbox, end to end on both runtimes, with the API channel's callback as provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.api.parse import verify_signature
from hub.keys import OUTBOX
from tests.hub.conftest import API_SECRET, Hub, start_test_hub
from tests.waiting import eventually


@dataclass
class Callback:
    """The API channel's callback URL: records signed replies and answers as told."""

    server: TestServer
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/replies"))


@pytest.fixture
async def callback(aiohttp_server: Any) -> AsyncIterator[Callback]:
    app = web.Application()
    holder: list[Callback] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        verify_signature(API_SECRET, body, request.headers.get("X-Switchboard-Signature"))
        status = holder[0].answers.pop(0) if holder[0].answers else 200
        if status == 200:
            holder[0].received.append(json.loads(body))
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 429 else {})

    app.router.add_post("/replies", receive)
    holder.append(Callback(server=await aiohttp_server(app)))
    yield holder[0]


@pytest.fixture
async def replying_hub(runtime: dict[str, str], callback: Callback, aiohttp_client: Any) -> Hub:
    hub = await start_test_hub({**runtime, "SWITCHBOARD_API_CALLBACK_URL": callback.url}, aiohttp_client)
    outbox = hub.app[OUTBOX]
    outbox.base_delay = 0.01  # retries within the test's patience
    outbox.max_attempts = 3
    return hub


async def _conversation(hub: Hub, sender: str = "cust-1") -> str:
    response = await hub.send({"message_id": f"m-{sender}", "sender": {"id": sender}, "text": "hello"})
    assert response.status == 200
    return str((await response.json())["conversation_id"])


async def _reply(hub: Hub, conversation_id: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {hub.token}"}
    if key:
        headers["Idempotency-Key"] = key
    return await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers
    )


async def _interaction(hub: Hub, conversation_id: str, interaction_id: str) -> dict[str, Any]:
    page = await (await hub.get(f"/api/v1/conversations/{conversation_id}/interactions")).json()
    [found] = [i for i in page["items"] if i["id"] == interaction_id]
    return dict(found)


async def _status_becomes(hub: Hub, conversation_id: str, interaction_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await _interaction(hub, conversation_id, interaction_id)
        return found if found["delivery_status"] == status else None

    return await eventually(check, what=f"delivery_status {status}")


async def test_a_reply_is_queued_then_sent_signed_to_the_callback(
    replying_hub: Hub, callback: Callback
) -> None:
    conversation_id = await _conversation(replying_hub)
    response = await _reply(replying_hub, conversation_id, {"text": "שלום! how can we help? 🙂"})
    assert response.status == 202
    queued = await response.json()
    assert queued["status"] == "queued" and queued["duplicate"] is False
    sent = await _status_becomes(replying_hub, conversation_id, queued["interaction_id"], "sent")
    assert sent["direction"] == "out" and sent["kind"] == "message"
    assert sent["external_message_id"] == queued["interaction_id"]
    [delivered] = callback.received
    assert delivered["text"] == "שלום! how can we help? 🙂"
    assert delivered["recipient"] == {"id": "cust-1"}


async def test_a_retried_request_with_the_same_idempotency_key_sends_once(
    replying_hub: Hub, callback: Callback
) -> None:
    conversation_id = await _conversation(replying_hub)
    first = await (await _reply(replying_hub, conversation_id, {"text": "once"}, key="k-1")).json()
    again = await _reply(replying_hub, conversation_id, {"text": "once"}, key="k-1")
    assert again.status == 202
    second = await again.json()
    assert second["interaction_id"] == first["interaction_id"] and second["duplicate"] is True
    await _status_becomes(replying_hub, conversation_id, first["interaction_id"], "sent")
    assert [r["text"] for r in callback.received] == ["once"]


async def test_a_private_note_is_stored_and_never_sent(replying_hub: Hub, callback: Callback) -> None:
    conversation_id = await _conversation(replying_hub)
    note = await (
        await _reply(replying_hub, conversation_id, {"text": "VIP, be kind", "private": True})
    ).json()
    assert note["status"] is None
    await replying_hub.app[OUTBOX].send_due()
    stored = await _interaction(replying_hub, conversation_id, note["interaction_id"])
    assert (stored["kind"], stored["private"], stored["delivery_status"]) == ("note", True, None)
    assert callback.received == []


async def test_temporary_failures_are_retried_until_sent(replying_hub: Hub, callback: Callback) -> None:
    callback.answers = [503, 429]
    conversation_id = await _conversation(replying_hub)
    queued = await (await _reply(replying_hub, conversation_id, {"text": "try again"})).json()
    await _status_becomes(replying_hub, conversation_id, queued["interaction_id"], "sent")
    assert [r["text"] for r in callback.received] == ["try again"]
    assert callback.answers == []


async def test_a_permanent_failure_is_dead_lettered_and_an_admin_can_replay_it(
    replying_hub: Hub, callback: Callback
) -> None:
    callback.answers = [400]
    conversation_id = await _conversation(replying_hub)
    queued = await (await _reply(replying_hub, conversation_id, {"text": "refused"})).json()
    failed = await _status_becomes(replying_hub, conversation_id, queued["interaction_id"], "failed")
    assert "400" in failed["delivery_error"]
    dead = await (await replying_hub.get("/api/v1/outbox/dead")).json()
    [item] = [d for d in dead["items"] if d["interaction_id"] == queued["interaction_id"]]
    assert item["attempts"] == 1 and "400" in item["last_error"]

    replay = await replying_hub.client.post(
        f"/api/v1/outbox/{item['id']}/replay", headers={"Authorization": f"Bearer {replying_hub.token}"}
    )
    assert replay.status == 202
    await _status_becomes(replying_hub, conversation_id, queued["interaction_id"], "sent")
    assert [r["text"] for r in callback.received] == ["refused"]
    dead = await (await replying_hub.get("/api/v1/outbox/dead")).json()
    assert all(d["interaction_id"] != queued["interaction_id"] for d in dead["items"])


async def test_retries_run_out_into_the_dead_letter_list(replying_hub: Hub, callback: Callback) -> None:
    callback.answers = [503, 503, 503]
    conversation_id = await _conversation(replying_hub)
    queued = await (await _reply(replying_hub, conversation_id, {"text": "never"})).json()
    failed = await _status_becomes(replying_hub, conversation_id, queued["interaction_id"], "failed")
    assert "gave up after 3 attempts" in failed["delivery_error"]
    assert callback.received == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "missing_field"),
        ({"text": "   "}, 400, "missing_field"),
        ({"text": 5}, 400, "invalid_field"),
        (
            {"text": "x", "private": True, "attachments": [{"url": "https://x.example/a.png"}]},
            400,
            "invalid_field",
        ),
        ({"text": "x", "identity_id": "nope"}, 400, "invalid_field"),
    ],
)
async def test_bad_replies_are_refused_naming_the_problem(
    replying_hub: Hub, body: dict[str, Any], status: int, code: str
) -> None:
    conversation_id = await _conversation(replying_hub)
    response = await _reply(replying_hub, conversation_id, body)
    assert response.status == status
    assert (await response.json())["error"] == code


async def test_a_reply_to_an_unknown_conversation_is_404(replying_hub: Hub) -> None:
    response = await _reply(replying_hub, "0190aaaa-0000-7000-8000-000000000000", {"text": "hi"})
    assert response.status == 404


async def test_only_admins_replay_and_only_operators_read_dead_letters(replying_hub: Hub) -> None:
    from crm_core.accounts import create_token
    from crm_core.models import Role
    from hub.keys import DATABASE
    from hub.messages import utcnow

    async with replying_hub.app[DATABASE].writer.begin() as conn:
        agent_token, _ = await create_token(conn, name="agent-t", role=Role.AGENT, now=utcnow())
    headers = {"Authorization": f"Bearer {agent_token}"}
    assert (await replying_hub.client.get("/api/v1/outbox/dead", headers=headers)).status == 403
    replay = "/api/v1/outbox/0190aaaa-0000-7000-8000-000000000000/replay"
    assert (await replying_hub.client.post(replay, headers=headers)).status == 403
