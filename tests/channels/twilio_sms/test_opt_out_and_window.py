"""Through the whole hub on Twilio: STOP/START/HELP change what may be sent; WhatsApp's 24-hour window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from crm_core.db import table
from crm_core.models import ContactIdentity
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.twilio_sms.fake_twilio import FakeTwilio, signed_form
from tests.waiting import eventually

PUBLIC = "https://hub.example.com"
OURS = "+14155550100"
CUSTOMER = "+972501234567"


async def _inbound(hub: ChannelHub, text: str, sid: str, sender: str = CUSTOMER, to: str = OURS) -> str:
    fields = [("Body", text), ("From", sender), ("MessageSid", sid), ("To", to)]
    request = signed_form(PUBLIC + "/webhooks/twilio_sms", fields)
    response = await hub.client.post(request.path_qs, data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    return str(conversation["id"])


async def _reply(hub: ChannelHub, conversation_id: str, body: dict[str, Any]) -> Any:
    return await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=hub.auth
    )


def _sid(n: int) -> str:
    return f"SM{n:032x}"


async def _bodies_sent(fake: FakeTwilio, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        bodies = [r.form["Body"] for r in fake.sent if "Body" in r.form]
        return bodies if len(bodies) >= count else None

    return await eventually(enough, what=f"{count} messages to reach Twilio")


async def test_stop_confirms_then_blocks_replies_until_start(
    make_hub: MakeHub, fake_twilio: FakeTwilio
) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "STOP", _sid(1))
    [confirmation] = await _bodies_sent(fake_twilio, 1)
    assert "unsubscribed" in confirmation and fake_twilio.sent[0].form["To"] == CUSTOMER

    refused = await _reply(hub, conversation_id, {"text": "but wait"})
    assert refused.status == 409 and (await refused.json())["error"] == "opted_out"

    await _inbound(hub, "START", _sid(2))
    await _bodies_sent(fake_twilio, 2)
    allowed = await _reply(hub, conversation_id, {"text": "welcome back"})
    assert allowed.status == 202
    bodies = await _bodies_sent(fake_twilio, 3)
    assert bodies[2] == "welcome back"


async def test_a_hebrew_removal_word_is_confirmed_in_hebrew(
    make_hub: MakeHub, fake_twilio: FakeTwilio
) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "הסר", _sid(1))
    [confirmation] = await _bodies_sent(fake_twilio, 1)
    assert "הוסרת" in confirmation
    assert (await _reply(hub, conversation_id, {"text": "x"})).status == 409


async def test_a_message_merely_containing_stop_changes_nothing(
    make_hub: MakeHub, fake_twilio: FakeTwilio
) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "please don't stop my service", _sid(1))
    assert (await _reply(hub, conversation_id, {"text": "we won't"})).status == 202
    assert await _bodies_sent(fake_twilio, 1) == ["we won't"]


async def _age_last_inbound(hub: ChannelHub, hours: float) -> None:
    ids = table(ContactIdentity)
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(update(ids).values(last_inbound_at=utcnow() - timedelta(hours=hours)))


async def test_whatsapp_window_both_sides(make_hub: MakeHub, fake_twilio: FakeTwilio) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "hi", _sid(1), sender=f"whatsapp:{CUSTOMER}", to=f"whatsapp:{OURS}")

    await _age_last_inbound(hub, 23.9)
    assert (await _reply(hub, conversation_id, {"text": "inside the window"})).status == 202

    await _age_last_inbound(hub, 24.1)
    outside = await _reply(hub, conversation_id, {"text": "too late"})
    assert outside.status == 409 and (await outside.json())["error"] == "outside_service_window"
    template = {"content_sid": "HX" + "0" * 32, "variables": {"1": "Dana"}}
    assert (await _reply(hub, conversation_id, {"template": template})).status == 202

    async def both_sent() -> list[Any] | None:
        return fake_twilio.sent if len(fake_twilio.sent) >= 2 else None

    first, second = await eventually(both_sent, what="both messages to reach Twilio")
    assert first.form["Body"] == "inside the window"
    assert second.form["ContentSid"] == "HX" + "0" * 32 and "Body" not in second.form


async def test_sms_has_no_window(make_hub: MakeHub, fake_twilio: FakeTwilio) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "hi", _sid(1))
    await _age_last_inbound(hub, 24 * 30)
    assert (await _reply(hub, conversation_id, {"text": "a month later"})).status == 202


async def test_twilio_63016_fails_the_reply_with_the_window_code(
    make_hub: MakeHub, fake_twilio: FakeTwilio
) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    conversation_id = await _inbound(hub, "hi", _sid(1), sender=f"whatsapp:{CUSTOMER}", to=f"whatsapp:{OURS}")
    fake_twilio.fail_next(400, code=63016, message="Outside messaging window")
    queued = await (await _reply(hub, conversation_id, {"text": "hello"})).json()

    async def failed() -> dict[str, Any] | None:
        items = (await hub.get_json(f"/api/v1/conversations/{conversation_id}/interactions"))["items"]
        [item] = [i for i in items if i["id"] == queued["interaction_id"]]
        return item if item["delivery_status"] == "failed" else None

    item = await eventually(failed, what="the reply to fail")
    assert item["delivery_error"].startswith("63016")


async def test_sms_then_whatsapp_from_one_number_is_one_contact(
    make_hub: MakeHub, fake_twilio: FakeTwilio
) -> None:
    hub = await make_hub({**fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC})
    await _inbound(hub, "by sms", _sid(1))
    fields = [("Body", "by whatsapp"), ("From", f"whatsapp:{CUSTOMER}"), ("MessageSid", _sid(2))]
    request = signed_form(PUBLIC + "/webhooks/twilio_sms", [*fields, ("To", f"whatsapp:{OURS}")])
    assert (await hub.client.post(request.path_qs, data=request.body, headers=request.headers)).status == 200
    conversations = (await hub.get_json("/api/v1/conversations"))["items"]
    assert len(conversations) == 2 and len({c["contact_id"] for c in conversations}) == 1
    view = await hub.get_json(f"/api/v1/contacts/{conversations[0]['contact_id']}/360")
    assert sorted(i["external_id"] for i in view["identities"]) == [CUSTOMER, f"whatsapp:{CUSTOMER}"]
