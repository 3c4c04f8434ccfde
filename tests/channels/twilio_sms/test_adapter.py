"""The channel's webhooks, mounted as the hub mounts them, handing what they parse to a recording Inbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from channels.twilio_sms import CHANNEL
from hub.errors import ConfigError
from hub.messages import DeliveryStatus, InboundKind, InboundMessage, IngestResult
from hub.pipeline import StoreUnavailable
from hub.settings import read_channel_settings
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_sms.conftest import MountChannel
from tests.channels.twilio_sms.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SignedRequest,
    signed_form,
    signed_json,
    twilio_signature,
)

OURS = "+14155550100"
CUSTOMER = "+972501234567"
SID = "SM" + "c3" * 16
PATH = "/webhooks/twilio_sms"
SMS = [
    ("AccountSid", ACCOUNT_SID),
    ("ApiVersion", "2010-04-01"),
    ("Body", "שלום, I need help 🙏"),
    ("From", CUSTOMER),
    ("FromCity", ""),
    ("MessageSid", SID),
    ("NumMedia", "0"),
    ("SmsMessageSid", SID),
    ("SmsSid", SID),
    ("SmsStatus", "received"),
    ("To", OURS),
]


def _url(client: TestClient[Any, Any], path: str = PATH) -> str:
    return str(client.make_url(path))


async def _post(client: TestClient[Any, Any], request: SignedRequest, **headers: str) -> Any:
    return await client.post(request.path_qs, data=request.body, headers={**request.headers, **headers})


async def test_inbound_sms_is_stored_then_answered_with_empty_twiml(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    response = await _post(client, signed_form(_url(client), SMS))
    assert response.status == 200 and response.content_type == "text/xml"
    assert (await response.text()).endswith("<Response/>")
    [message] = recording_inbox.messages
    assert message.external_message_id == SID and message.text == "שלום, I need help 🙏"
    assert message.identity.account == OURS and message.identity.external_id == CUSTOMER


async def test_a_retried_delivery_keeps_the_same_message_id(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    for _ in range(2):
        assert (await _post(client, signed_form(_url(client), SMS))).status == 200
    assert len(recording_inbox.messages) == 1


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"X-Twilio-Signature": ""}, "missing_signature"),
        ({"X-Twilio-Signature": "bm90IGl0"}, "bad_signature"),
    ],
)
async def test_unsigned_or_badly_signed_requests_are_refused_and_nothing_is_kept(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, headers: dict[str, str], code: str
) -> None:
    _, client = await mount_channel(recording_inbox)
    for path in (PATH, PATH + "/status"):
        response = await _post(client, signed_form(_url(client, path), SMS), **headers)
        assert response.status == 401
        assert (await response.json())["error"] == code
    assert recording_inbox.messages == [] and recording_inbox.kept == [] and recording_inbox.updates == []


async def test_signed_for_another_token_is_refused(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    response = await _post(client, signed_form(_url(client), SMS, "another-token"))
    assert response.status == 401 and recording_inbox.messages == []


async def test_public_url_is_what_twilio_signed(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, public_url="https://hub.example.com")
    local = await _post(client, signed_form(_url(client), SMS))
    public = await _post(client, signed_form("https://hub.example.com" + PATH, SMS))
    assert (local.status, public.status) == (401, 200)


async def test_behind_a_proxy_the_forwarded_scheme_and_host_are_signed(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = signed_form("https://hub.example.com" + PATH, SMS)
    proxied = await _post(client, request, **{"X-Forwarded-Proto": "https", "Host": "hub.example.com"})
    direct = await _post(client, request)
    assert (proxied.status, direct.status) == (200, 401)


async def test_the_query_string_is_part_of_the_signed_url(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = signed_form(_url(client, PATH + "?number=main&x=%2B1"), SMS)
    assert (await _post(client, request)).status == 200
    forged = SignedRequest(_url(client, PATH + "?number=other"), request.body, request.headers)
    assert (await _post(client, forged)).status == 401


async def test_shared_key_signed_webhook(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox, webhook_shared_key="shared-secret")
    url = _url(client)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, SMS, "shared-secret", algorithm="HMAC_SHA256"),
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    response = await client.post(PATH, data=urlencode(SMS).encode(), headers=headers)
    assert response.status == 200 and len(recording_inbox.messages) == 1


async def test_status_callback_records_delivery(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [("MessageSid", "SMours"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
    fields += [("ErrorMessage", "Unreachable destination handset"), ("From", OURS), ("To", CUSTOMER)]
    response = await _post(client, signed_form(_url(client, PATH + "/status"), fields))
    assert response.status == 200
    [update] = recording_inbox.updates
    assert (update.channel, update.external_message_id, update.status) == (
        "twilio_sms",
        "SMours",
        DeliveryStatus.FAILED,
    )
    assert update.error == "30003: Unreachable destination handset"
    assert recording_inbox.messages == []


async def test_status_callback_sent_to_the_message_url_is_still_a_status(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [("MessageSid", "SMours"), ("MessageStatus", "read"), ("From", f"whatsapp:{OURS}")]
    assert (await _post(client, signed_form(_url(client), fields))).status == 200
    assert [u.status for u in recording_inbox.updates] == [DeliveryStatus.READ]
    assert recording_inbox.messages == []


async def test_statuses_without_meaning_for_delivery_record_nothing(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [("MessageSid", "SMin"), ("SmsStatus", "received")]
    assert (await _post(client, signed_form(_url(client, PATH + "/status"), fields))).status == 200
    assert recording_inbox.updates == [] and recording_inbox.kept == []


async def test_unknown_status_is_kept_aside(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = signed_form(
        _url(client, PATH + "/status"),
        [("MessageSid", "SMours"), ("MessageStatus", "teleported"), ("From", OURS)],
    )
    assert (await _post(client, request)).status == 200
    [kept] = recording_inbox.kept
    assert (kept.reason, kept.provider_id, kept.account) == (
        "unknown message status: teleported",
        "SMours",
        OURS,
    )
    assert kept.body == request.body and recording_inbox.updates == []


async def test_malformed_message_is_kept_aside_with_its_body(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = signed_form(_url(client), [(k, v) for k, v in SMS if k != "From"])
    response = await _post(client, request)
    assert response.status == 200 and response.content_type == "text/xml"
    [kept] = recording_inbox.kept
    assert kept.channel == "twilio_sms" and kept.reason == "malformed: missing From"
    assert kept.provider_id == SID and kept.account == OURS
    assert kept.body == request.body and kept.content_type == "application/x-www-form-urlencoded"
    assert recording_inbox.messages == []


async def test_signed_json_body_is_kept_aside(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    body = b'{"MessageSid": "SMjson"}'
    response = await _post(client, signed_json(_url(client), body))
    assert response.status == 200
    [kept] = recording_inbox.kept
    assert (kept.reason, kept.body, kept.content_type) == ("unsupported: JSON body", body, "application/json")


class _FailingInbox(RecordingInbox):
    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        raise StoreUnavailable("the store is down")


async def test_twilio_is_answered_only_once_the_message_is_stored(mount_channel: MountChannel) -> None:
    _, client = await mount_channel(_FailingInbox())
    response = await _post(client, signed_form(_url(client), SMS))
    assert response.status == 503  # Twilio retries: nothing was acknowledged that was not stored


async def test_media_message_through_the_webhook(
    mount_channel: MountChannel, recording_inbox: RecordingInbox
) -> None:
    _, client = await mount_channel(recording_inbox)
    fields = [(k, v) for k, v in SMS if k not in ("Body", "NumMedia")]
    fields += [
        ("NumMedia", "1"),
        ("MediaUrl0", "https://api.twilio.com/x/Media/ME1"),
        ("MediaContentType0", "image/jpeg"),
    ]
    assert (await _post(client, signed_form(_url(client), fields))).status == 200
    [message] = recording_inbox.messages
    assert message.kind is InboundKind.MEDIA and message.attachments[0].content_type == "image/jpeg"


def test_settings_come_from_the_environment() -> None:
    settings = read_channel_settings(
        CHANNEL,
        {
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_TWILIO_FROM": "+15005550006",
            "SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID": "MGx",
            "SWITCHBOARD_TWILIO_WEBHOOK_SHARED_KEY": "k",
        },
    )
    assert settings is not None
    assert (settings.account_sid, settings.auth_token, settings.from_) == (
        ACCOUNT_SID,
        AUTH_TOKEN,
        "+15005550006",
    )
    assert (settings.messaging_service_sid, settings.webhook_shared_key) == ("MGx", "k")
    assert settings.api_base == "https://api.twilio.com"


def test_channel_is_off_without_settings_and_refuses_half_of_them() -> None:
    assert read_channel_settings(CHANNEL, {}) is None
    with pytest.raises(ConfigError) as caught:
        read_channel_settings(CHANNEL, {"SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    assert caught.value.setting == "SWITCHBOARD_TWILIO_AUTH_TOKEN"
