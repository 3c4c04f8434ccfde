"""A reply on another channel the customer has (``identity_id``): it reaches that channel's provider, is
kept in the same conversation under that channel, and is refused when that channel's window is closed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert

from crm_core.models import ContactIdentity
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.channels.twilio_sms.fake_twilio import FakeTwilio, signed_form
from tests.hub.conftest import Hub, start_test_hub
from tests.waiting import eventually

PUBLIC = "https://hub.example.com"
OURS = "+14155550100"
CUSTOMER = "+972501234567"


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def two_channel_hub(runtime: dict[str, str], aiohttp_client: Any, fake_twilio: FakeTwilio) -> Hub:
    """The API channel and (fake) Twilio SMS/WhatsApp on one hub."""
    env = {**runtime, **fake_twilio.env(), "SWITCHBOARD_PUBLIC_URL": PUBLIC}
    return await start_test_hub(env, aiohttp_client)


def _auth(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token}"}


async def _customer_on_two_channels(hub: Hub) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer who wrote through the API channel and by SMS, merged into one contact."""
    sent = await hub.send(
        {"message_id": uuid.uuid4().hex, "sender": {"id": "crm-7", "name": "Dana"}, "text": "hi"}
    )
    api = await sent.json()
    sms = signed_form(
        PUBLIC + "/webhooks/twilio_sms",
        [("Body", "also me"), ("From", CUSTOMER), ("MessageSid", "SM" + uuid.uuid4().hex), ("To", OURS)],
    )
    answered = await hub.client.post(sms.path_qs, data=sms.body, headers=sms.headers)
    assert answered.status == 200, await answered.text()
    contacts = (await (await hub.get("/api/v1/contacts?q=" + CUSTOMER.lstrip("+"))).json())["items"]
    [sms_contact] = contacts
    merged = await hub.client.post(
        f"/api/v1/contacts/{api['contact_id']}/merge",
        json={"merge_id": sms_contact["id"]},
        headers=_auth(hub),
    )
    assert merged.status == 200, await merged.text()
    view = await (await hub.get(f"/api/v1/contacts/{api['contact_id']}/360")).json()
    return api, {i["channel"]: i for i in view["identities"]}


async def _reply(hub: Hub, conversation_id: str, body: dict[str, Any]) -> Any:
    return await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=_auth(hub)
    )


async def test_a_reply_on_the_customers_other_channel_reaches_that_provider(
    two_channel_hub: Hub, fake_twilio: FakeTwilio
) -> None:
    hub = two_channel_hub
    api, identities = await _customer_on_two_channels(hub)
    assert set(identities) == {"api", "twilio_sms"}

    response = await _reply(
        hub,
        api["conversation_id"],
        {"text": "Texting you instead", "identity_id": identities["twilio_sms"]["id"]},
    )
    assert response.status == 202, await response.text()
    interaction_id = (await response.json())["interaction_id"]

    sent = await eventually(lambda: _first(fake_twilio), what="the reply to reach Twilio")
    assert sent.form["To"] == CUSTOMER and sent.form["From"] == OURS
    assert sent.form["Body"] == "Texting you instead"
    timeline = await (await hub.get(f"/api/v1/conversations/{api['conversation_id']}/interactions")).json()
    [stored] = [item for item in timeline["items"] if item["id"] == interaction_id]
    assert stored["channel"] == "twilio_sms" and stored["direction"] == "out"


async def test_a_channel_outside_its_service_window_is_refused_with_a_reason(two_channel_hub: Hub) -> None:
    hub = two_channel_hub
    api, _identities = await _customer_on_two_channels(hub)
    # A WhatsApp address the customer never wrote from: only a template may open the conversation.
    whatsapp_id = uuid.uuid4()
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            insert(ContactIdentity).values(
                id=whatsapp_id,
                contact_id=uuid.UUID(api["contact_id"]),
                channel="twilio_sms",
                account=f"whatsapp:{OURS}",
                external_id=f"whatsapp:{CUSTOMER}",
                created_at=utcnow(),
            )
        )
    response = await _reply(hub, api["conversation_id"], {"text": "hello?", "identity_id": str(whatsapp_id)})
    assert response.status == 409
    body = await response.json()
    assert body["error"] == "outside_service_window" and "template" in body["detail"]


async def test_an_identity_of_another_contact_is_not_found(two_channel_hub: Hub) -> None:
    hub = two_channel_hub
    api, _identities = await _customer_on_two_channels(hub)
    stranger = await (
        await hub.send({"message_id": uuid.uuid4().hex, "sender": {"id": "crm-8"}, "text": "hey"})
    ).json()
    view = await (await hub.get(f"/api/v1/contacts/{stranger['contact_id']}/360")).json()
    response = await _reply(
        hub, api["conversation_id"], {"text": "wrong person", "identity_id": view["identities"][0]["id"]}
    )
    assert response.status == 404


async def _first(fake: FakeTwilio) -> Any:
    return fake.sent[0] if fake.sent else None
