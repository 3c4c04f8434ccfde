"""The IVR through the channel's webhooks: signed requests in Twilio's form format in, TwiML (parsed) out,
and what each step hands the (recording) Inbox."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.twilio_voice.const import PROMPTS
from hub.messages import BotAnswer, ExternalIdentity, InboundKind, InboundMessage, IngestResult
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_voice.conftest import (
    CALL_SID,
    CUSTOMER,
    OURS,
    PATH,
    FakeAnswerer,
    MountChannel,
    call_fields,
    post,
    twiml_of,
    url_of,
)

IDENTITY = ExternalIdentity("twilio_voice", OURS, CUSTOMER)
EN, HE = PROMPTS["en"], PROMPTS["he"]


def _says(element: ET.Element) -> list[tuple[str, str | None]]:
    return [(say.text or "", say.get("language")) for say in element.iter("Say")]


def _callback(url: str | None, path: str) -> None:
    """``url`` is our absolute callback URL for ``path``, naming the call's identity."""
    assert url is not None
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.path == PATH + path
    assert parse_qs(parts.query) == {"account": [OURS], "customer": [CUSTOMER]}


def _events(inbox: RecordingInbox) -> dict[str, InboundMessage]:
    return {m.external_message_id: m for m in inbox.messages}


async def test_incoming_call_is_stored_then_greeted_and_asked_what_it_is_about(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    root = await twiml_of(await post(client, url_of(client, PATH), call_fields(CallerName="DANA LEVI")))

    [call] = recording_inbox.messages
    assert (call.kind, call.external_message_id, call.thread_key) == (InboundKind.CALL, CALL_SID, CALL_SID)
    assert call.identity == IDENTITY
    assert (call.sender_hints.phone, call.sender_hints.verified) == (CUSTOMER, True)
    assert call.sender_hints.display_name == "DANA LEVI"
    assert call.details == {"direction": "inbound", "call_status": "ringing", "caller_name": "DANA LEVI"}

    [gather] = list(root)
    assert gather.tag == "Gather"
    assert (gather.get("input"), gather.get("language")) == ("speech dtmf", "en-US")
    assert gather.get("actionOnEmptyResult") == "true" and gather.get("numDigits") is None
    _callback(gather.get("action"), "/gather")
    assert _says(gather) == [(EN["greeting"], "en-US")]


async def test_the_call_is_stored_before_anything_is_answered(mount_channel: MountChannel) -> None:
    class BrokenInbox(RecordingInbox):
        async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
            raise RuntimeError("store down")

    _, client = await mount_channel(BrokenInbox())
    response = await post(client, url_of(client, PATH), call_fields())
    assert response.status == 500 and "<Gather" not in await response.text()


async def test_hebrew_ivr_greets_and_listens_in_hebrew(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, voice_language="he")
    root = await twiml_of(await post(client, url_of(client, PATH), call_fields()))
    [gather] = root.findall("Gather")
    assert gather.get("language") == "he-IL"
    assert _says(root) == [(HE["greeting"], "he-IL")]


@pytest.mark.parametrize(("language", "locale"), [("en-GB", "en-GB"), ("ar", "ar-AE"), ("fa-IR", "fa-IR")])
async def test_greeting_in_each_configured_language(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, language: str, locale: str
) -> None:
    _, client = await mount_channel(recording_inbox, voice_language=language)
    root = await twiml_of(await post(client, url_of(client, PATH), call_fields()))
    assert _says(root) == [(PROMPTS[language[:2]]["greeting"], locale)]


@pytest.mark.parametrize("record", [True, False])
async def test_recording_notice_only_when_calls_are_recorded(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, record: bool
) -> None:
    _, client = await mount_channel(recording_inbox, voice_record=record, voice_language="he-IL")
    root = await twiml_of(await post(client, url_of(client, PATH), call_fields()))
    notice = (HE["recording_notice"], "he-IL")
    assert (notice in _says(root)) is record
    if record:  # before anything else
        assert root[0].tag == "Say" and (root[0].text, root[0].get("language")) == notice


async def test_custom_greeting_menu_and_voice(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(
        recording_inbox,
        voice_greeting="Welcome to Acme.",
        voice_menu="1=Billing|2=Technical support",
        voice_tts_voice="Polly.Joanna",
    )
    root = await twiml_of(await post(client, url_of(client, PATH), call_fields()))
    [gather] = root.findall("Gather")
    assert gather.get("numDigits") == "1"
    texts = [text for text, _ in _says(gather)]
    assert texts == ["Welcome to Acme.", "For Billing, press 1.", "For Technical support, press 2."]
    assert {say.get("voice") for say in gather.iter("Say")} == {"Polly.Joanna"}


async def test_malformed_call_is_kept_aside_and_the_call_ends(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [(k, v) for k, v in call_fields() if k != "From"]
    root = await twiml_of(await post(client, url_of(client, PATH), fields))
    assert list(root) == []
    assert recording_inbox.messages == []
    [kept] = recording_inbox.kept
    assert (kept.reason, kept.provider_id, kept.account) == ("malformed: missing From", CALL_SID, OURS)


async def test_a_retried_webhook_is_stored_once(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    for _ in range(2):
        await twiml_of(await post(client, url_of(client, PATH), call_fields()))
    assert [m.external_message_id for m in recording_inbox.messages] == [CALL_SID]


# -- what the caller said ----------------------------------------------------------------------------


def _gather_url(client: Any, path: str = "/gather") -> str:
    return url_of(client, f"{PATH}{path}?account=%2B14155550100&customer=%2B972501234567")


def _enqueued(root: ET.Element) -> ET.Element:
    [enqueue] = root.findall("Enqueue")
    assert enqueue.text == "support"
    _callback(enqueue.get("action"), "/queue")
    _callback(enqueue.get("waitUrl"), "/wait")
    return enqueue


async def test_speech_is_stored_and_without_an_answer_the_call_is_queued(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(CallStatus="in-progress", SpeechResult="My internet is down", Confidence="0.91")
    root = await twiml_of(await post(client, _gather_url(client), fields))

    events = _events(recording_inbox)
    said = events[f"{CALL_SID}:gather"]
    assert (said.kind, said.text, said.thread_key, said.identity) == (
        InboundKind.TEXT,
        "My internet is down",
        CALL_SID,
        IDENTITY,
    )
    assert said.details == {"input": "speech", "speech_confidence": 0.91}
    queued = events[f"{CALL_SID}:queued"]
    assert queued.kind is InboundKind.CALL and queued.text is None
    assert queued.details == {"call_status": "queued", "queue": "support", "reason": "no_bot_answer"}
    assert _says(root) == [(EN["connecting"], "en-US")]
    _enqueued(root)


async def test_keypad_choice_is_the_menu_topic_and_is_what_the_bot_is_asked(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    answerer = FakeAnswerer()
    _, client = await mount_channel(
        recording_inbox, voice_menu="1=Billing|2=Technical support", answer=answerer
    )
    root = await twiml_of(await post(client, _gather_url(client), call_fields(Digits="2")))
    said = _events(recording_inbox)[f"{CALL_SID}:gather"]
    assert said.text == "Technical support"
    assert said.details == {"input": "dtmf", "digits": "2", "topic": "Technical support"}
    assert answerer.asked == [("Technical support", IDENTITY, "en")]
    _enqueued(root)


async def test_digits_without_a_menu_are_stored_as_typed(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    await twiml_of(await post(client, _gather_url(client), call_fields(Digits="4417", FinishedOnKey="#")))
    said = _events(recording_inbox)[f"{CALL_SID}:gather"]
    assert (said.text, said.details) == ("4417", {"input": "dtmf", "digits": "4417"})


async def test_silence_queues_the_call_and_stores_no_words(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, answer=FakeAnswerer())
    root = await twiml_of(await post(client, _gather_url(client), call_fields()))
    assert list(_events(recording_inbox)) == [f"{CALL_SID}:queued"]
    assert recording_inbox.messages[0].details == {
        "call_status": "queued",
        "queue": "support",
        "reason": "no_input",
    }
    _enqueued(root)


HOURS = BotAnswer("We are open Sunday to Thursday, 8 to 20.", 0.93, language="en", source="Opening hours")


async def test_a_routine_question_gets_the_knowledge_base_answer_spoken(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    answerer = FakeAnswerer({"When are you open?": HOURS})
    _, client = await mount_channel(recording_inbox, answer=answerer)
    root = await twiml_of(
        await post(client, _gather_url(client), call_fields(SpeechResult="When are you open?"))
    )

    assert answerer.asked == [("When are you open?", IDENTITY, "en")]
    assert root[0].tag == "Say" and root[0].text == HOURS.text
    [gather] = root.findall("Gather")
    _callback(gather.get("action"), "/feedback")
    assert gather.get("numDigits") == "1" and gather.get("actionOnEmptyResult") == "true"
    assert _says(gather) == [(EN["did_it_help"], "en-US")]
    assert root.find("Enqueue") is None
    bot = _events(recording_inbox)[f"{CALL_SID}:bot"]
    assert bot.details == {
        "call_status": "bot_answered",
        "bot_answer": HOURS.text,
        "bot_confidence": 0.93,
        "bot_source": "Opening hours",
    }


async def test_with_the_bot_off_the_knowledge_base_is_not_asked(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    answerer = FakeAnswerer({"When are you open?": HOURS})
    _, client = await mount_channel(recording_inbox, answer=answerer, voice_bot=False)
    root = await twiml_of(
        await post(client, _gather_url(client), call_fields(SpeechResult="When are you open?"))
    )
    assert answerer.asked == []
    _enqueued(root)


async def test_a_failing_answerer_sends_the_caller_to_an_agent(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    answerer = FakeAnswerer(error=RuntimeError("model crashed"))
    _, client = await mount_channel(recording_inbox, answer=answerer)
    root = await twiml_of(
        await post(client, _gather_url(client), call_fields(SpeechResult="When are you open?"))
    )
    _enqueued(root)
    assert f"{CALL_SID}:bot" not in _events(recording_inbox)


@pytest.mark.parametrize(
    ("language", "answer", "resolved"),
    [
        ("en", {"Digits": "1"}, True),
        ("en", {"SpeechResult": "Yes, thanks."}, True),
        ("en", {"SpeechResult": "No, I need an agent."}, False),
        ("en", {"Digits": "2"}, False),
        ("en", {}, False),
        ("he", {"SpeechResult": "כן, תודה"}, True),
        ("he", {"SpeechResult": "לא, אני רוצה נציג"}, False),
        ("ar", {"SpeechResult": "نعم"}, True),
        ("fa", {"SpeechResult": "بله ممنون"}, True),
    ],
)
async def test_did_that_help(
    mount_channel: MountChannel,
    recording_inbox: RecordingInbox,
    language: str,
    answer: dict[str, str],
    resolved: bool,
) -> None:
    _, client = await mount_channel(recording_inbox, voice_language=language)
    root = await twiml_of(await post(client, _gather_url(client, "/feedback"), call_fields(**answer)))
    events = _events(recording_inbox)
    if resolved:
        assert [child.tag for child in root] == ["Say", "Hangup"]
        assert root[0].text == PROMPTS[language]["goodbye"]
        assert events[f"{CALL_SID}:feedback"].details == {"call_status": "resolved_by_bot"}
    else:
        _enqueued(root)
        assert events[f"{CALL_SID}:queued"].details == {
            "call_status": "queued",
            "queue": "support",
            "reason": "bot_answer_not_enough",
        }


# -- the queue, the agent's leg, voicemail -----------------------------------------------------------------


@pytest.mark.parametrize(("waited", "pause"), [("0", "15"), ("20", "10"), ("29", "1")])
async def test_wait_music_is_the_wait_message_until_the_configured_time(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, waited: str, pause: str
) -> None:
    _, client = await mount_channel(recording_inbox, voice_voicemail_after_s=30, voice_language="ar")
    fields = call_fields(QueueTime=waited, QueuePosition="1", QueueSid="QU" + "0" * 32, CurrentQueueSize="1")
    root = await twiml_of(await post(client, _gather_url(client, "/wait"), fields))
    assert [child.tag for child in root] == ["Say", "Pause"]
    assert (root[0].text, root[0].get("language")) == (PROMPTS["ar"]["wait"], "ar-AE")
    assert root[1].get("length") == pause
    assert recording_inbox.messages == []


@pytest.mark.parametrize("waited", ["30", "95"])
async def test_after_the_configured_time_the_caller_leaves_the_queue(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, waited: str
) -> None:
    _, client = await mount_channel(recording_inbox, voice_voicemail_after_s=30)
    root = await twiml_of(await post(client, _gather_url(client, "/wait"), call_fields(QueueTime=waited)))
    assert [child.tag for child in root] == ["Leave"]


@pytest.mark.parametrize(("language", "transcribed"), [("en-US", True), ("he-IL", False)])
async def test_leaving_the_queue_unanswered_goes_to_voicemail(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, language: str, transcribed: bool
) -> None:
    _, client = await mount_channel(recording_inbox, voice_language=language)
    fields = call_fields(QueueResult="leave", QueueTime="121", QueueSid="QU" + "0" * 32)
    root = await twiml_of(await post(client, _gather_url(client, "/queue"), fields))

    assert [child.tag for child in root] == ["Say", "Record"]
    assert root[0].text == PROMPTS[language[:2]]["voicemail"]
    record = root[1]
    _callback(record.get("action"), "/voicemail")
    _callback(record.get("recordingStatusCallback"), "/recording")
    assert record.get("playBeep") == "true" and record.get("maxLength") == "120"
    assert record.get("transcribe") == ("true" if transcribed else "false")
    if transcribed:
        _callback(record.get("transcribeCallback"), "/transcription")
    else:
        assert record.get("transcribeCallback") is None
    left = _events(recording_inbox)[f"{CALL_SID}:queue:leave"]
    assert left.details == {"call_status": "voicemail", "queue_result": "leave", "queue_time_s": 121}


@pytest.mark.parametrize(("result", "status"), [("bridged", "dequeued"), ("hangup", "abandoned")])
async def test_other_queue_endings_are_stored_and_end_quietly(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, result: str, status: str
) -> None:
    _, client = await mount_channel(recording_inbox)
    root = await twiml_of(await post(client, _gather_url(client, "/queue"), call_fields(QueueResult=result)))
    assert list(root) == []
    assert _events(recording_inbox)[f"{CALL_SID}:queue:{result}"].details == {
        "call_status": status,
        "queue_result": result,
    }


async def test_voicemail_recorded_thanks_and_hangs_up(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(RecordingUrl="https://api.twilio.com/x", RecordingDuration="12", Digits="hangup")
    root = await twiml_of(await post(client, _gather_url(client, "/voicemail"), fields))
    assert [(child.tag, child.text) for child in root] == [("Say", EN["voicemail_thanks"]), ("Hangup", None)]
    assert recording_inbox.messages == []


@pytest.mark.parametrize(("dial_status", "voicemail"), [("no-answer", True), ("completed", False)])
async def test_the_agents_leg_ending(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, dial_status: str, voicemail: bool
) -> None:
    _, client = await mount_channel(recording_inbox)
    agent_leg = "CA" + "a9" * 16
    fields = call_fields(DialCallStatus=dial_status, DialCallSid=agent_leg, DialCallDuration="64")
    root = await twiml_of(await post(client, _gather_url(client, "/dialed"), fields))
    assert [child.tag for child in root] == (["Say", "Record"] if voicemail else [])
    assert _events(recording_inbox)[f"{CALL_SID}:dial:{agent_leg}"].details == {
        "call_status": "voicemail" if voicemail else "completed",
        "dial_status": dial_status,
        "agent_duration_s": 64,
        "agent_call_sid": agent_leg,
    }
