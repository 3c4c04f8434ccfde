"""The console's call controls (connect, recording, click to call) and recording downloads, through
twilio-python's async client against a fake Twilio REST API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.twilio_voice import TwilioVoiceChannel
from hub.errors import BadRequest, MediaUnavailable, PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_voice.conftest import (
    CALL_SID,
    CUSTOMER,
    OURS,
    PATH,
    MountChannel,
    call_fields,
    make_channel,
    post,
)
from tests.channels.twilio_voice.fake_voice import ACCOUNT_SID, FakeTwilioVoice

PUBLIC = "https://hub.example.com"
CALLER = ExternalIdentity("twilio_voice", OURS, CUSTOMER)
MakeVoice = Callable[..., TwilioVoiceChannel]


@pytest.fixture
async def voice(fake_twilio: FakeTwilioVoice, recording_inbox: RecordingInbox) -> AsyncIterator[MakeVoice]:
    """``voice(voice_record=True, ...)``: the channel aimed at the fake, closed after the test."""
    built: list[TwilioVoiceChannel] = []

    def make(**settings: Any) -> TwilioVoiceChannel:
        settings.setdefault("public_url", PUBLIC)
        channel = make_channel(recording_inbox, api_base=fake_twilio.base_url, **settings)
        built.append(channel)
        return channel

    yield make
    for channel in built:
        await channel.close()


def _twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)  # noqa: S314  (what our channel sent the fake)
    assert root.tag == "Response"
    return root


def _our_callback(url: str | None, path: str, customer: str = CUSTOMER) -> None:
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == PUBLIC + PATH + path
    assert parse_qs(parts.query) == {"account": [OURS], "customer": [customer]}


# -- connect ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "noun", "text"),
    [
        ("client:alice", "Client", "alice"),
        ("sip:agent7@pbx.example.com", "Sip", "sip:agent7@pbx.example.com"),
        ("+972 54-123-4567", "Number", "+972541234567"),
    ],
)
async def test_connect_takes_the_queued_call_to_the_agent(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice, to: str, noun: str, text: str
) -> None:
    live = fake_twilio.live_call(CALL_SID)
    result = await voice().control("connect", recipient=CALLER, thread_key=CALL_SID, params={"to": to})
    assert result == {"call_sid": CALL_SID}
    [update] = [r for r in fake_twilio.requests if r.path.endswith(f"/Calls/{CALL_SID}.json")]
    assert update.authorized and update.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"
    [dial] = _twiml(live.twiml[-1]).findall("Dial")
    assert [(child.tag, child.text) for child in dial] == [(noun, text)]
    _our_callback(dial.get("action"), "/dialed")
    assert dial.get("record") is None and dial.get("recordingStatusCallback") is None


async def test_connect_records_when_recording_is_on(voice: MakeVoice, fake_twilio: FakeTwilioVoice) -> None:
    live = fake_twilio.live_call(CALL_SID)
    channel = voice(voice_record=True)
    await channel.control("connect", recipient=CALLER, thread_key=CALL_SID, params={"to": "client:alice"})
    [dial] = _twiml(live.twiml[-1]).findall("Dial")
    assert dial.get("record") == "record-from-answer-dual"
    _our_callback(dial.get("recordingStatusCallback"), "/recording")


@pytest.mark.parametrize(
    ("thread_key", "params", "code"),
    [
        (CALL_SID, {"to": "alice"}, "bad_target"),
        (CALL_SID, {"to": "client:"}, "bad_target"),
        (CALL_SID, {}, "bad_target"),
        (None, {"to": "client:alice"}, "bad_params"),
    ],
)
async def test_connect_refuses_bad_parameters(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice, thread_key: str | None, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await voice().control("connect", recipient=CALLER, thread_key=thread_key, params=params)
    assert caught.value.code == code and fake_twilio.requests == []


async def test_connecting_a_call_that_is_over_is_refused_for_good(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await voice().control("connect", recipient=CALLER, thread_key=CALL_SID, params={"to": "client:alice"})
    assert caught.value.provider_code == "20404"


# -- recording -------------------------------------------------------------------------------------


async def test_agent_pauses_and_resumes_the_recording(voice: MakeVoice, fake_twilio: FakeTwilioVoice) -> None:
    live = fake_twilio.live_call(CALL_SID, recording="in-progress")
    channel = voice(voice_record=True)

    paused = await channel.control(
        "recording", recipient=CALLER, thread_key=CALL_SID, params={"paused": True}
    )
    assert paused == {"call_sid": CALL_SID, "recording_status": "paused"} and live.recording == "paused"
    request = fake_twilio.requests[-1]
    assert request.path.endswith(f"/Calls/{CALL_SID}/Recordings/Twilio.CURRENT.json")
    assert (request.form["Status"], request.form["PauseBehavior"]) == ("paused", "skip")

    resumed = await channel.control(
        "recording", recipient=CALLER, thread_key=CALL_SID, params={"paused": False}
    )
    assert resumed["recording_status"] == "in-progress" and live.recording == "in-progress"
    assert "PauseBehavior" not in fake_twilio.requests[-1].form


async def test_pausing_a_call_without_recording_is_refused(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    fake_twilio.live_call(CALL_SID)
    with pytest.raises(PermanentSendError) as caught:
        await voice().control("recording", recipient=CALLER, thread_key=CALL_SID, params={"paused": True})
    assert caught.value.provider_code == "20404"


@pytest.mark.parametrize("params", [{}, {"paused": "yes"}, {"paused": 1}])
async def test_recording_needs_a_boolean(voice: MakeVoice, fake_twilio: FakeTwilioVoice, params: Any) -> None:
    with pytest.raises(BadRequest):
        await voice().control("recording", recipient=CALLER, thread_key=CALL_SID, params=params)
    assert fake_twilio.requests == []


# -- click to call ---------------------------------------------------------------------------------


async def test_click_to_call_rings_the_customer_then_the_agent(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice, recording_inbox: RecordingInbox
) -> None:
    result = await voice(voice_record=True, voice_language="he").control(
        "call", recipient=CALLER, params={"agent": "client:alice"}
    )
    [call] = fake_twilio.calls.values()
    assert result == {"call_sid": call.sid}
    form = call.form
    assert (form["To"], form["From"]) == (CUSTOMER, OURS)
    _our_callback(form["StatusCallback"], "/status")
    assert form.getall("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    root = _twiml(form["Twiml"])
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root[0].get("language") == "he-IL"  # the recording notice, in the configured language
    dial = root[1]
    assert [(child.tag, child.text) for child in dial] == [("Client", "alice")]
    assert dial.get("record") == "record-from-answer-dual"
    _our_callback(dial.get("recordingStatusCallback"), "/recording")
    assert recording_inbox.messages == []  # the call's own callbacks store it


async def test_click_to_call_without_recording_has_no_notice(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    await voice().control("call", recipient=CALLER, params={"agent": "+972541234567"})
    [call] = fake_twilio.calls.values()
    root = _twiml(call.form["Twiml"])
    assert [child.tag for child in root] == ["Dial"] and root[0].get("record") is None


async def test_click_to_call_status_lands_with_the_customer(
    mount_channel: MountChannel, fake_twilio: FakeTwilioVoice, recording_inbox: RecordingInbox
) -> None:
    channel, client = await mount_channel(recording_inbox, api_base=fake_twilio.base_url, public_url=PUBLIC)
    result = await channel.control("call", recipient=CALLER, params={"agent": "client:alice"})
    [call] = fake_twilio.calls.values()
    fields = call_fields(call_sid=result["call_sid"], CallStatus="completed", CallDuration="61")
    fields = [(k, {"From": OURS, "To": CUSTOMER, "Direction": "outbound-api"}.get(k, v)) for k, v in fields]
    response = await post(client, call.form["StatusCallback"], fields)
    assert response.status == 200
    [status] = recording_inbox.messages
    assert status.identity == CALLER and status.thread_key == result["call_sid"]
    assert status.details is not None and status.details["duration_s"] == 61


async def test_click_to_call_from_the_configured_number_when_the_identity_has_none(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    recipient = ExternalIdentity("twilio_voice", ACCOUNT_SID, CUSTOMER)
    await voice(from_="+14155550199").control("call", recipient=recipient, params={"agent": "client:bob"})
    [call] = fake_twilio.calls.values()
    assert call.form["From"] == "+14155550199"
    _our_callback_from = parse_qs(urlsplit(call.form["StatusCallback"]).query)
    assert _our_callback_from == {"account": ["+14155550199"], "customer": [CUSTOMER]}


async def test_click_to_call_without_a_caller_id_or_a_phone_is_refused(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        recipient = ExternalIdentity("twilio_voice", ACCOUNT_SID, CUSTOMER)
        await voice().control("call", recipient=recipient, params={"agent": "client:bob"})
    assert caught.value.code == "no_sender"
    with pytest.raises(BadRequest):
        recipient = ExternalIdentity("twilio_voice", OURS, "client:someone")
        await voice().control("call", recipient=recipient, params={"agent": "client:bob"})
    with pytest.raises(BadRequest):
        await voice().control("call", recipient=CALLER, params={})
    assert fake_twilio.requests == []


async def test_without_a_public_url_the_call_asks_for_no_callbacks(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    await voice(public_url=None, voice_record=True).control(
        "call", recipient=CALLER, params={"agent": "client:a"}
    )
    [call] = fake_twilio.calls.values()
    assert "StatusCallback" not in call.form
    [dial] = _twiml(call.form["Twiml"]).findall("Dial")
    assert dial.get("record") == "record-from-answer-dual" and dial.get("recordingStatusCallback") is None


# -- errors ----------------------------------------------------------------------------------------


async def test_rate_limit_is_temporary_with_retry_after(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    fake_twilio.fail_next(429, code=20429, message="Too Many Requests", retry_after=7)
    with pytest.raises(TemporarySendError) as caught:
        await voice().control("call", recipient=CALLER, params={"agent": "client:alice"})
    assert (caught.value.retry_after, caught.value.provider_code) == (7.0, "20429")


async def test_server_error_is_temporary(voice: MakeVoice, fake_twilio: FakeTwilioVoice) -> None:
    fake_twilio.live_call(CALL_SID)
    fake_twilio.fail_next(503, code=20500, message="Service Unavailable")
    with pytest.raises(TemporarySendError):
        await voice().control("connect", recipient=CALLER, thread_key=CALL_SID, params={"to": "client:alice"})


async def test_refusal_is_permanent_with_twilios_code(voice: MakeVoice, fake_twilio: FakeTwilioVoice) -> None:
    fake_twilio.fail_next(400, code=21215, message="Geo Permission configuration is not permitting call")
    with pytest.raises(PermanentSendError) as caught:
        await voice().control("call", recipient=CALLER, params={"agent": "client:alice"})
    assert caught.value.provider_code == "21215"


async def test_wrong_credentials_are_refused_for_good(voice: MakeVoice, fake_twilio: FakeTwilioVoice) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await voice(auth_token="wrong").control("call", recipient=CALLER, params={"agent": "client:alice"})
    assert caught.value.provider_code == "20003"


async def test_unknown_action_is_unsupported(voice: MakeVoice) -> None:
    with pytest.raises(BadRequest) as caught:
        await voice().control("transfer", recipient=CALLER, thread_key=CALL_SID)
    assert caught.value.code == "unsupported_action"


async def test_phone_conversations_are_answered_by_calling(voice: MakeVoice) -> None:
    message = OutboundMessage("i", "c", CALLER, "k", text="hello")
    with pytest.raises(PermanentSendError):
        await voice().send(message)


# -- recordings ------------------------------------------------------------------------------------


async def test_recording_is_downloaded_with_the_accounts_credentials(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    url = fake_twilio.add_recording(b"RIFF....WAVEfmt fake audio")
    media = await voice().fetch_media(Attachment("audio/wav", url=url), max_bytes=1024)
    assert (media.content, media.content_type) == (b"RIFF....WAVEfmt fake audio", "audio/x-wav")
    assert fake_twilio.requests[-1].authorized


async def test_recording_over_the_limit_or_elsewhere_is_unavailable(
    voice: MakeVoice, fake_twilio: FakeTwilioVoice
) -> None:
    url = fake_twilio.add_recording(b"x" * 4096)
    with pytest.raises(MediaUnavailable):
        await voice().fetch_media(Attachment("audio/wav", url=url), max_bytes=1024)
    requests = len(fake_twilio.requests)
    with pytest.raises(MediaUnavailable):
        await voice().fetch_media(Attachment("audio/wav", url="https://evil.example/r.wav"), max_bytes=1024)
    with pytest.raises(MediaUnavailable):
        await voice().fetch_media(Attachment("audio/wav"), max_bytes=1024)
    assert len(fake_twilio.requests) == requests
