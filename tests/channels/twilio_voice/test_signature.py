"""X-Twilio-Signature on every voice webhook: Twilio's own vectors, and refusals that store nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from channels._twilio.signature import form_fields, verify_signature
from hub.errors import Unauthorized
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_sms.fake_twilio import SignedRequest, signed_form, twilio_signature
from tests.channels.twilio_voice.conftest import PATH, MountChannel, call_fields, post, twiml_of, url_of
from tests.corpus import corpus_bytes, corpus_json

SUB_PATHS = ["", "/gather", "/feedback", "/wait", "/queue", "/dialed", "/voicemail"]
SUB_PATHS += ["/status", "/recording", "/transcription"]


def _vector_body(vector: dict[str, Any]) -> bytes:
    if "params_file" in vector:
        params = corpus_json("twilio", vector["params_file"])
        return urlencode(params).encode()
    return corpus_bytes("twilio", vector["body_file"])


FORM_VECTORS = [v for v in corpus_json("twilio", "signature_vectors.json") if "bodySHA256" not in v["url"]]


@pytest.mark.parametrize("vector", FORM_VECTORS, ids=lambda v: v["url"])
def test_twilios_known_answer_vectors_verify(vector: dict[str, Any]) -> None:
    body = _vector_body(vector)
    fields = form_fields(body)
    verify_signature(
        url=vector["url"],
        fields=fields,
        signature=vector["x_twilio_signature"],
        settings_header=None,
        auth_token=vector["auth_token"],
    )
    fields["From"] = "+10000000000"
    with pytest.raises(Unauthorized):
        verify_signature(
            url=vector["url"],
            fields=fields,
            signature=vector["x_twilio_signature"],
            settings_header=None,
            auth_token=vector["auth_token"],
        )


def test_a_json_signed_body_is_not_a_voice_webhook() -> None:
    [vector] = [v for v in corpus_json("twilio", "signature_vectors.json") if "bodySHA256" in v["url"]]
    with pytest.raises(Unauthorized):
        verify_signature(
            url=vector["url"],
            fields=form_fields(corpus_bytes("twilio", vector["body_file"])),
            signature=vector["x_twilio_signature"],
            settings_header=None,
            auth_token=vector["auth_token"],
        )


@pytest.mark.parametrize(
    ("header", "code"), [("", "missing_signature"), ("bm90IGl0", "bad_signature")], ids=["missing", "wrong"]
)
async def test_unsigned_or_badly_signed_requests_are_refused_on_every_path(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, header: str, code: str
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = call_fields(
        CallStatus="completed",
        CallDuration="30",
        SpeechResult="hello",
        QueueResult="leave",
        DialCallStatus="no-answer",
        RecordingSid="RE" + "0" * 32,
        RecordingUrl="https://api.twilio.com/r",
        TranscriptionText="hi",
        TranscriptionSid="TR" + "0" * 32,
    )
    for sub in SUB_PATHS:
        response = await post(client, url_of(client, PATH + sub), fields, **{"X-Twilio-Signature": header})
        assert response.status == 401, sub
        assert (await response.json())["error"] == code
    assert recording_inbox.messages == [] and recording_inbox.kept == []


async def test_signed_with_another_token_is_refused(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = signed_form(url_of(client, PATH), call_fields(), "another-token")
    response = await client.post(request.path_qs, data=request.body, headers=request.headers)
    assert response.status == 401 and recording_inbox.messages == []


async def test_our_callback_query_is_signed_too(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [
        ("CallSid", "CA" + "1" * 32),
        ("RecordingSid", "RE" + "1" * 32),
        ("RecordingUrl", "https://x/r"),
    ]
    signed = signed_form(
        url_of(client, PATH + "/recording?account=%2B14155550100&customer=%2B15550001"), fields
    )
    forged = SignedRequest(
        url_of(client, PATH + "/recording?account=%2B14155550100&customer=%2B15559999"),
        signed.body,
        signed.headers,
    )
    assert (await client.post(forged.path_qs, data=forged.body, headers=forged.headers)).status == 401
    assert (await client.post(signed.path_qs, data=signed.body, headers=signed.headers)).status == 200
    [message] = recording_inbox.messages
    assert message.identity.external_id == "+15550001"


async def test_public_url_is_what_twilio_signed(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, public_url="https://hub.example.com")
    local = await post(client, url_of(client, PATH), call_fields())
    public = await post(client, "https://hub.example.com" + PATH, call_fields())
    assert local.status == 401
    # and the TwiML's callbacks point where Twilio can reach us
    [gather] = (await twiml_of(public)).findall("Gather")
    assert str(gather.get("action")).startswith("https://hub.example.com/webhooks/twilio_voice/gather?")


async def test_behind_a_proxy_the_forwarded_scheme_is_signed_and_used(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    url = "https://hub.example.com" + PATH
    proxied = await post(
        client, url, call_fields(), **{"X-Forwarded-Proto": "https", "Host": "hub.example.com"}
    )
    direct = await post(client, url, call_fields())
    assert (proxied.status, direct.status) == (200, 401)


async def test_shared_key_signed_webhook(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, webhook_shared_key="shared-secret")
    url, fields = url_of(client, PATH), call_fields()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, fields, "shared-secret", algorithm="HMAC_SHA256"),
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    body = signed_form(url, fields).body
    response = await client.post(PATH, data=body, headers=headers)
    assert response.status == 200 and len(recording_inbox.messages) == 1
