"""Call status, recording and transcription callbacks become interactions of the call, stored once."""

from __future__ import annotations

import pytest

from channels.twilio_voice.const import RECORDING_CONTENT_TYPE
from hub.messages import Attachment, ExternalIdentity, InboundKind
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_voice.conftest import (
    CALL_SID,
    CUSTOMER,
    OURS,
    PATH,
    MountChannel,
    call_fields,
    post,
    twiml_of,
    url_of,
)

IDENTITY = ExternalIdentity("twilio_voice", OURS, CUSTOMER)
QUERY = "?account=%2B14155550100&customer=%2B972501234567"
RECORDING_SID = "RE" + "7c" * 16
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/AC{'f0' * 16}/Recordings/{RECORDING_SID}"


def _recording_fields(**extra: str) -> list[tuple[str, str]]:
    # Recording status callbacks carry no From/To (docs "<Record> recordingStatusCallback"): the identity
    # comes from our callback URL's query.
    fields = {
        "AccountSid": "AC" + "f0" * 16,
        "CallSid": CALL_SID,
        "RecordingSid": RECORDING_SID,
        "RecordingUrl": RECORDING_URL,
        "RecordingStatus": "completed",
        "RecordingDuration": "42",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": "Mon, 22 Aug 2022 10:00:00 +0000",
        **extra,
    }
    return list(fields.items())


async def test_final_status_has_duration_and_outcome_and_is_stored_once(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(CallStatus="completed", CallDuration="125", Duration="3", Timestamp="x")
    for _ in range(2):
        root = await twiml_of(await post(client, url_of(client, PATH + "/status"), fields))
        assert list(root) == []
    [status] = recording_inbox.messages
    assert (status.kind, status.external_message_id, status.thread_key) == (
        InboundKind.CALL,
        f"{CALL_SID}:status:completed",
        CALL_SID,
    )
    assert status.identity == IDENTITY and status.text is None
    assert status.details == {
        "direction": "inbound",
        "call_status": "completed",
        "outcome": "completed",
        "duration_s": 125,
    }


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "canceled", "failed"])
async def test_unanswered_outcomes(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, outcome: str
) -> None:
    _, client = await mount_channel(recording_inbox)
    await post(client, url_of(client, PATH + "/status"), call_fields(CallStatus=outcome, CallDuration="0"))
    [status] = recording_inbox.messages
    assert status.details is not None and status.details["outcome"] == outcome


async def test_each_status_of_a_call_is_its_own_interaction(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    for status in ("initiated", "ringing", "in-progress", "completed"):
        await post(client, url_of(client, PATH + "/status"), call_fields(CallStatus=status))
    assert [m.external_message_id for m in recording_inbox.messages] == [
        f"{CALL_SID}:status:{s}" for s in ("initiated", "ringing", "in-progress", "completed")
    ]
    assert {m.thread_key for m in recording_inbox.messages} == {CALL_SID}
    assert [(m.details or {}).get("outcome") for m in recording_inbox.messages] == [
        None,
        None,
        None,
        "completed",
    ]


async def test_a_call_we_placed_belongs_to_the_customer_we_called(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(CallStatus="completed", Direction="outbound-api", From=OURS, To=CUSTOMER)
    await post(client, url_of(client, PATH + "/status"), fields)
    [status] = recording_inbox.messages
    assert status.identity == IDENTITY
    assert (status.sender_hints.phone, status.sender_hints.verified) == (CUSTOMER, True)


async def test_unknown_call_status_is_kept_aside(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    await twiml_of(await post(client, url_of(client, PATH + "/status"), call_fields(CallStatus="teleported")))
    assert recording_inbox.messages == []
    [kept] = recording_inbox.kept
    assert (kept.reason, kept.provider_id) == ("unknown call status: teleported", CALL_SID)


async def test_recording_becomes_an_audio_attachment_with_its_link(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    for _ in range(2):
        await twiml_of(await post(client, url_of(client, PATH + "/recording" + QUERY), _recording_fields()))
    [recording] = recording_inbox.messages
    assert (recording.kind, recording.external_message_id, recording.thread_key) == (
        InboundKind.MEDIA,
        f"{CALL_SID}:recording:{RECORDING_SID}",
        CALL_SID,
    )
    assert recording.identity == IDENTITY
    assert recording.attachments == (Attachment(RECORDING_CONTENT_TYPE, url=RECORDING_URL),)
    assert recording.details == {
        "recording_url": RECORDING_URL,
        "recording_sid": RECORDING_SID,
        "recording_duration_s": 42,
        "recording_source": "RecordVerb",
        "voicemail": True,
    }


async def test_an_agent_call_recording_is_not_a_voicemail(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = _recording_fields(RecordingSource="DialVerb", RecordingChannels="2")
    await post(client, url_of(client, PATH + "/recording" + QUERY), fields)
    [recording] = recording_inbox.messages
    assert recording.details is not None and recording.details["voicemail"] is False


@pytest.mark.parametrize("status", ["in-progress", "absent", "failed"])
async def test_unfinished_recordings_store_nothing(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, status: str
) -> None:
    _, client = await mount_channel(recording_inbox)
    await post(client, url_of(client, PATH + "/recording" + QUERY), _recording_fields(RecordingStatus=status))
    assert recording_inbox.messages == [] and recording_inbox.kept == []


async def test_recording_callback_without_our_query_is_kept_aside(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    await post(client, url_of(client, PATH + "/recording"), _recording_fields())
    [kept] = recording_inbox.kept
    assert kept.reason == "malformed: missing From" and recording_inbox.messages == []


async def test_transcription_is_the_callers_text(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(
        CallStatus="completed",
        TranscriptionSid="TR" + "3d" * 16,
        TranscriptionText="Hi, my router keeps rebooting, please call me back.",
        TranscriptionStatus="completed",
        TranscriptionUrl="https://api.twilio.com/t",
        TranscriptionType="fast",
        RecordingSid=RECORDING_SID,
        RecordingUrl=RECORDING_URL,
    )
    for _ in range(2):
        await post(client, url_of(client, PATH + "/transcription" + QUERY), fields)
    [transcript] = recording_inbox.messages
    assert (transcript.kind, transcript.text) == (
        InboundKind.TEXT,
        "Hi, my router keeps rebooting, please call me back.",
    )
    assert transcript.external_message_id == f"{CALL_SID}:transcription:TR{'3d' * 16}"
    assert transcript.thread_key == CALL_SID and transcript.identity == IDENTITY
    assert transcript.details == {
        "transcript": True,
        "transcription_sid": "TR" + "3d" * 16,
        "recording_sid": RECORDING_SID,
        "recording_url": RECORDING_URL,
    }


async def test_failed_transcription_stores_nothing(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(
        TranscriptionSid="TR" + "3d" * 16, TranscriptionStatus="failed", RecordingSid=RECORDING_SID
    )
    await twiml_of(await post(client, url_of(client, PATH + "/transcription" + QUERY), fields))
    assert recording_inbox.messages == [] and recording_inbox.kept == []
