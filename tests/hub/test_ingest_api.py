"""A message on the API channel, end to end: HTTP in, stored, answered, readable through REST, evented.

Runs on the embedded default (SQLite + in-process bus) and scaled out (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from crm_core.models import Contact, ContactIdentity, Conversation, Interaction
from hub.bus import Event
from hub.keys import BUS, DATABASE
from hub.pipeline import EVENTS_STREAM
from tests.hub.conftest import Hub


def _message(
    message_id: str, sender: str = "crm-42", text: str = "سلام، سفارشم نرسیده", **extra: object
) -> dict[str, object]:
    return {"message_id": message_id, "sender": {"id": sender, "name": "Reza Karimi", **extra}, "text": text}


async def _counts(hub: Hub) -> list[int]:
    async with hub.app[DATABASE].reader.connect() as conn:
        return [
            int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
            for model in (Contact, ContactIdentity, Conversation, Interaction)
        ]


async def test_signed_message_creates_contact_identity_conversation_interaction(hub: Hub) -> None:
    response = await hub.send(_message("m-1", email="reza@example.com"))
    assert response.status == 200
    body = await response.json()
    assert body["duplicate"] is False
    assert all(isinstance(body[k], str) for k in ("interaction_id", "conversation_id", "contact_id"))
    assert await _counts(hub) == [1, 1, 1, 1]
    async with hub.app[DATABASE].reader.connect() as conn:
        stored = (
            await conn.execute(select(Interaction.text, Interaction.external_message_id, Interaction.channel))
        ).one()
        identity = (await conn.execute(select(ContactIdentity.external_id, ContactIdentity.channel))).one()
    assert tuple(stored) == ("سلام، سفارشم نرسیده", "m-1", "api")
    assert tuple(identity) == ("crm-42", "api")


async def test_same_message_twice_is_stored_once_and_answered_with_the_same_ids(hub: Hub) -> None:
    first = await (await hub.send(_message("m-1"))).json()
    second_response = await hub.send(_message("m-1"))
    second = await second_response.json()
    assert second_response.status == 200
    assert second["duplicate"] is True
    assert {k: second[k] for k in ("interaction_id", "conversation_id", "contact_id")} == {
        k: first[k] for k in ("interaction_id", "conversation_id", "contact_id")
    }
    assert await _counts(hub) == [1, 1, 1, 1]


async def test_concurrent_retries_of_one_message_store_it_once(hub: Hub) -> None:
    responses = await asyncio.gather(*(hub.send(_message("m-burst")) for _ in range(8)))
    bodies = [await r.json() for r in responses]
    assert {r.status for r in responses} == {200}
    assert len({b["interaction_id"] for b in bodies}) == 1
    assert sum(not b["duplicate"] for b in bodies) == 1
    assert await _counts(hub) == [1, 1, 1, 1]


async def test_bad_or_missing_signature_gets_401_and_stores_nothing(hub: Hub) -> None:
    for signature in (None, "sha256=" + "0" * 64, "garbage"):
        response = await hub.send(_message("m-1"), signature=signature)
        assert response.status == 401
        assert (await response.json())["error"] in ("missing_signature", "bad_signature")
    assert await _counts(hub) == [0, 0, 0, 0]


async def test_malformed_json_or_missing_field_gets_400_naming_the_problem(hub: Hub) -> None:
    cases: Sequence[tuple[bytes, str]] = [
        (b'{"message_id": "m-1", "sender": ', "not valid JSON"),
        (json.dumps({"sender": {"id": "x"}, "text": "hi"}).encode(), "message_id"),
        (json.dumps({"message_id": "m-1", "text": "hi"}).encode(), "sender"),
        (json.dumps({"message_id": "m-1", "sender": {}, "text": "hi"}).encode(), "sender.id"),
        (json.dumps({"message_id": "m-1", "sender": {"id": "x"}}).encode(), "text"),
    ]
    for raw, named in cases:
        response = await hub.send(raw)
        assert response.status == 400, raw
        body = await response.json()
        assert body["error"] in ("malformed_json", "missing_field", "invalid_field")
        assert named in body["detail"]
    assert await _counts(hub) == [0, 0, 0, 0]


async def test_known_identity_lands_on_its_contact_and_open_conversation_and_the_360_shows_it(
    hub: Hub,
) -> None:
    first = await (await hub.send(_message("m-1"))).json()
    second = await (await hub.send(_message("m-2", text="Any news about my order?"))).json()
    other = await (await hub.send(_message("m-3", sender="crm-7"))).json()
    assert second["contact_id"] == first["contact_id"]
    assert second["conversation_id"] == first["conversation_id"]
    assert other["contact_id"] != first["contact_id"]
    assert await _counts(hub) == [2, 2, 2, 3]

    response = await hub.get(f"/api/v1/contacts/{first['contact_id']}/360")
    assert response.status == 200
    view = await response.json()
    texts = [i["text"] for i in view["recent_interactions"]]
    assert texts == ["Any news about my order?", "سلام، سفارشم نرسیده"]
    assert [i["external_id"] for i in view["identities"]] == ["crm-42"]


async def test_interaction_created_reaches_the_bus(hub: Hub) -> None:
    seen: list[Event] = []
    arrived = asyncio.Event()

    async def collect(events: Sequence[Event]) -> None:
        seen.extend(events)
        if any(e.name == "interaction.created" for e in seen):
            arrived.set()

    subscription = await hub.app[BUS].subscribe(EVENTS_STREAM, f"test-{uuid.uuid4().hex}", collect)
    try:
        body = await (await hub.send(_message("m-evt"))).json()
        await asyncio.wait_for(arrived.wait(), timeout=10)
    finally:
        await subscription.close()
    mine = [e for e in seen if body["contact_id"] in e.payload.values()]
    assert {e.name for e in mine} == {"contact.created", "conversation.created", "interaction.created"}
    created = next(e for e in mine if e.name == "interaction.created")
    assert created.payload == {
        "interaction_id": body["interaction_id"],
        "conversation_id": body["conversation_id"],
        "contact_id": body["contact_id"],
    }


async def test_unconfigured_channel_answers_404_json(hub: Hub) -> None:
    response = await hub.client.post("/webhooks/telegram", data=b"{}")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
