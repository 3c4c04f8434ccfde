"""Through a real hub with the fake Graph API: handshake, refusals, media fetch, reply and its statuses."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.whatsapp_cloud.conftest import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, WEBHOOK, hub_env
from tests.channels.whatsapp_cloud.fake_graph import (
    FakeGraph,
    message_webhook,
    sign,
    signed,
    signed_status_webhook,
)
from tests.corpus import corpus_json
from tests.waiting import eventually


async def _interactions(hub: ChannelHub) -> list[dict[str, Any]]:
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    items: list[dict[str, Any]] = (
        await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions")
    )["items"]
    return items


async def test_handshake_through_the_hub(make_hub: MakeHub) -> None:
    hub = await make_hub(hub_env())
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8841"}
    ok = await hub.client.get(WEBHOOK, params=query)
    assert (ok.status, ok.content_type, await ok.text()) == (200, "text/plain", "8841")
    refused = await hub.client.get(WEBHOOK, params={**query, "hub.verify_token": "guess"})
    assert refused.status == 403
    assert "8841" not in await refused.text()


async def test_bad_signature_through_the_hub_is_401_and_stores_nothing(make_hub: MakeHub) -> None:
    hub = await make_hub(hub_env())
    body = json.dumps(corpus_json("whatsapp", "pywa_message.json")["text"]).encode()
    for headers in ({}, {"X-Hub-Signature-256": sign("not-our-secret", body)}):
        response = await hub.client.post(WEBHOOK, data=body, headers=headers)
        assert response.status == 401
        assert set(await response.json()) == {"error", "detail"}
    assert (await hub.get_json("/api/v1/conversations"))["items"] == []
    assert (await hub.get_json("/api/v1/kept-aside"))["items"] == []


async def test_disabled_channel_has_no_webhook(make_hub: MakeHub) -> None:
    hub = await make_hub({})
    assert (await hub.client.get(WEBHOOK)).status == 404


async def test_inbound_image_is_fetched_with_the_token_and_kept_by_the_hub(make_hub: MakeHub) -> None:
    async with FakeGraph() as graph:
        graph.add_media("65463453", b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg")
        hub = await make_hub(hub_env(SWITCHBOARD_WHATSAPP_GRAPH_BASE=graph.base_url))
        body = json.dumps(corpus_json("whatsapp", "pywa_message.json")["image"]).encode()
        response = await hub.client.post(
            WEBHOOK, data=body, headers={"X-Hub-Signature-256": sign(APP_SECRET, body)}
        )
        assert response.status == 200

        async def stored_url() -> str | None:
            [interaction] = await _interactions(hub)
            url: str | None = interaction["attachments"][0].get("stored_url")
            return url

        url = await eventually(stored_url, what="the hub to store the image")
        media = await hub.client.get(url, headers=hub.auth)
        assert (media.status, await media.read()) == (200, b"\xff\xd8\xff\xe0 a jpeg")
        assert [r.path for r in graph.requests] == ["/v21.0/65463453", "/_media/65463453"]


async def test_reply_goes_out_through_graph_and_meta_statuses_move_it_forward(make_hub: MakeHub) -> None:
    async with FakeGraph() as graph:
        hub = await make_hub(hub_env(SWITCHBOARD_WHATSAPP_GRAPH_BASE=graph.base_url))
        inbound = message_webhook(
            "היי, איפה ההזמנה?", phone_number_id=PHONE_NUMBER_ID, timestamp=int(time.time())
        )
        body, headers = signed(APP_SECRET, inbound)
        assert (await hub.client.post(WEBHOOK, data=body, headers=headers)).status == 200
        [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
        reply = await hub.client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "בדרך אלייך 🚚"},
            headers=hub.auth,
        )
        assert reply.status == 202
        interaction_id = (await reply.json())["interaction_id"]

        async def outbound(status: str) -> dict[str, Any] | None:
            found = [i for i in await _interactions(hub) if i["id"] == interaction_id]
            return found[0] if found and found[0]["delivery_status"] == status else None

        sent = await eventually(lambda: outbound("sent"), what="the reply to be sent")
        assert sent["external_message_id"] == "wamid.1"
        assert graph.sent == [
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "972501234567",
                "type": "text",
                "text": {"preview_url": False, "body": "בדרך אלייך 🚚"},
            }
        ]
        assert graph.requests[0].phone_number_id == PHONE_NUMBER_ID
        for status in ("delivered", "played"):
            body, headers = signed_status_webhook(
                APP_SECRET, "wamid.1", status, phone_number_id=PHONE_NUMBER_ID
            )
            assert (await hub.client.post(WEBHOOK, data=body, headers=headers)).status == 200
        await eventually(lambda: outbound("read"), what="the reply to be read")


async def test_outside_the_window_only_a_template_goes_out(make_hub: MakeHub) -> None:
    async with FakeGraph() as graph:
        hub = await make_hub(hub_env(SWITCHBOARD_WHATSAPP_GRAPH_BASE=graph.base_url))
        body = json.dumps(corpus_json("whatsapp", "pywa_message.json")["text"]).encode()  # written in 2023
        await hub.client.post(WEBHOOK, data=body, headers={"X-Hub-Signature-256": sign(APP_SECRET, body)})
        [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
        path = f"/api/v1/conversations/{conversation['id']}/messages"
        free_form = await hub.client.post(path, json={"text": "hello again"}, headers=hub.auth)
        assert free_form.status == 409
        template = {"name": "follow_up", "language": "en_US", "parameters": ["Test Name"]}
        assert (await hub.client.post(path, json={"template": template}, headers=hub.auth)).status == 202

        async def sent() -> list[dict[str, Any]]:
            return graph.sent

        [body_sent] = await eventually(sent, what="the template to be sent")
        assert body_sent["to"] == "972987654321"
        assert body_sent["template"] == {
            "name": "follow_up",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Test Name"}]}],
        }
