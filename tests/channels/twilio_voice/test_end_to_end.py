"""Through the whole hub: a call comes in, says what it is about, waits for an agent; its callbacks land in
the same conversation. Also: the SMS and phone channels share the Twilio settings."""

from __future__ import annotations

from typing import Any

from hub.contract import ChannelContext
from hub.registry import build_channels
from tests.channels.conftest import ChannelHub, MakeHub, RecordingInbox
from tests.channels.twilio_sms.fake_twilio import signed_form
from tests.channels.twilio_voice.conftest import CALL_SID, CUSTOMER, OURS, call_fields
from tests.channels.twilio_voice.fake_voice import ACCOUNT_SID, AUTH_TOKEN

PUBLIC = "https://hub.example.com"
ENV = {
    "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "SWITCHBOARD_PUBLIC_URL": PUBLIC,
}
QUERY = "?account=%2B14155550100&customer=%2B972501234567"


async def _post(hub: ChannelHub, path: str, fields: list[tuple[str, str]]) -> str:
    request = signed_form(PUBLIC + path, fields)
    response = await hub.client.post(request.path_qs, data=request.body, headers=request.headers)
    text = await response.text()
    assert response.status == 200 and response.content_type == "text/xml", text
    return text


async def test_a_call_and_its_events_make_one_conversation(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    await _post(hub, "/webhooks/twilio_voice", call_fields())
    await _post(hub, "/webhooks/twilio_voice/gather" + QUERY, call_fields(SpeechResult="My router is broken"))
    completed = call_fields(CallStatus="completed", CallDuration="95")
    await _post(hub, "/webhooks/twilio_voice/status", completed)
    await _post(hub, "/webhooks/twilio_voice/status", completed)  # Twilio retried

    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    assert conversation["thread_key"] == CALL_SID
    items = (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    got = {item["external_message_id"]: item for item in items}
    assert set(got) == {CALL_SID, f"{CALL_SID}:gather", f"{CALL_SID}:queued", f"{CALL_SID}:status:completed"}
    assert {(item["channel"], item["account"], item["direction"]) for item in items} == {
        ("twilio_voice", OURS, "in")
    }
    assert got[CALL_SID]["kind"] == "call" and got[CALL_SID]["source_kind"] == "call"
    said = got[f"{CALL_SID}:gather"]
    assert (said["kind"], said["text"]) == ("message", "My router is broken")
    assert _details(got[f"{CALL_SID}:queued"])["call_status"] == "queued"
    assert _details(got[f"{CALL_SID}:status:completed"])["duration_s"] == 95

    [contact] = (await hub.get_json(f"/api/v1/contacts?q={CUSTOMER[1:]}"))["items"]
    assert contact["id"] == conversation["contact_id"]


def _details(item: dict[str, Any]) -> dict[str, Any]:
    details = item.get("details")
    assert isinstance(details, dict), item
    return details


def test_sms_and_phone_channels_share_the_twilio_settings() -> None:
    env = {**ENV, "SWITCHBOARD_TWILIO_VOICE_LANGUAGE": "he-IL", "SWITCHBOARD_TWILIO_VOICE_RECORD": "true"}
    found = {d.spec.name: d.channel for d in build_channels(ChannelContext(RecordingInbox(), PUBLIC), env)}
    sms, voice = found["twilio_sms"], found["twilio_voice"]
    assert sms is not None and voice is not None
    assert voice.settings.auth_token == sms.settings.auth_token == AUTH_TOKEN
    assert (voice.settings.voice_language, voice.settings.voice_record) == ("he-IL", True)
