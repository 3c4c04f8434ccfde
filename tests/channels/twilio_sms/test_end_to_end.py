"""Through the whole hub: a WhatsApp message comes in, an agent replies, (fake) Twilio sends and reports."""

from __future__ import annotations

from typing import Any

from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.twilio_sms.fake_twilio import FakeTwilio, SignedRequest, signed_form
from tests.waiting import eventually

PUBLIC = "https://hub.example.com"
OURS = "+14155550100"
CUSTOMER = "+972501234567"


async def _post(hub: ChannelHub, request: SignedRequest) -> None:
    response = await hub.client.post(request.path_qs, data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()


async def _conversation(hub: ChannelHub, sender: str, sid: str) -> dict[str, Any]:
    inbound = [("Body", "hello"), ("From", sender), ("MessageSid", sid), ("To", f"whatsapp:{OURS}")]
    await _post(hub, signed_form(PUBLIC + "/webhooks/twilio_sms", inbound))
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    return dict(conversation)


async def _reply(hub: ChannelHub, conversation_id: str, text: str) -> str:
    response = await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=hub.auth
    )
    assert response.status == 202, await response.text()
    return str((await response.json())["interaction_id"])


async def _interaction(hub: ChannelHub, conversation_id: str, interaction_id: str) -> dict[str, Any]:
    items = (await hub.get_json(f"/api/v1/conversations/{conversation_id}/interactions"))["items"]
    return dict(next(item for item in items if item["id"] == interaction_id))


async def test_reply_is_sent_and_its_delivery_recorded(make_hub: MakeHub, fake_twilio: FakeTwilio) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation = await _conversation(hub, f"whatsapp:{CUSTOMER}", "SM" + "e5" * 16)
    interaction_id = await _reply(hub, conversation["id"], "תודה, we are on it")

    sent = await eventually(lambda: _first(fake_twilio), what="the reply to reach Twilio")
    assert sent.form["To"] == f"whatsapp:{CUSTOMER}" and sent.form["From"] == f"whatsapp:{OURS}"
    assert sent.form["Body"] == "תודה, we are on it"
    assert sent.form["StatusCallback"] == PUBLIC + "/webhooks/twilio_sms/status"

    async def status_is(expected: str) -> bool:
        return (await _interaction(hub, conversation["id"], interaction_id))["delivery_status"] == expected

    assert sent.sid is not None
    await eventually(lambda: status_is("sent"), what="the send to be recorded")
    await _post(hub, fake_twilio.status_callback(sent.sid, "read"))
    await eventually(lambda: status_is("read"), what="the read receipt")
    # Out of order: a late "delivered" never moves the status back.
    await _post(hub, fake_twilio.status_callback(sent.sid, "delivered"))
    assert await status_is("read")


async def _first(fake: FakeTwilio) -> Any:
    return fake.sent[0] if fake.sent else None
