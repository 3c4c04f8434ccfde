"""The webhook as Meta calls it: the GET handshake, signed POSTs, batches, and what reaches the Inbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from channels.whatsapp_cloud import CHANNEL, WhatsAppCloudChannel, WhatsAppCloudSettings
from hub.errors import ConfigError, SwitchboardError
from hub.messages import DeliveryStatus, ExternalIdentity, InboundMessage, IngestResult
from hub.settings import read_channel_settings
from tests.channels.conftest import RecordingInbox
from tests.channels.whatsapp_cloud.conftest import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WEBHOOK,
    MakeChannel,
    WebhookClient,
    hub_env,
)
from tests.channels.whatsapp_cloud.fake_graph import message_webhook, sign, signed, signed_status_webhook


def _handshake(token: str = VERIFY_TOKEN, **extra: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444", **extra}


async def test_handshake_answers_the_challenge_as_plain_text(webhook_client: WebhookClient) -> None:
    client = await webhook_client()
    response = await client.get(WEBHOOK, params=_handshake())
    assert response.status == 200
    assert response.content_type == "text/plain"
    assert await response.text() == "1158201444"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        (_handshake("wrong-token"), 403),
        (_handshake(**{"hub.mode": "unsubscribe"}), 403),
        ({}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, 400),
    ],
)
async def test_handshake_refuses_a_wrong_token(
    webhook_client: WebhookClient, params: dict[str, str], status: int
) -> None:
    client = await webhook_client()
    response = await client.get(WEBHOOK, params=params)
    assert response.status == status
    assert "1158201444" not in await response.text()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": ""},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": sign("someone-elses-secret", b"x")},
    ],
)
async def test_unsigned_or_badly_signed_post_is_401_and_reaches_nothing(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox, headers: dict[str, str]
) -> None:
    client = await webhook_client()
    body = json.dumps(message_webhook("hi", phone_number_id=PHONE_NUMBER_ID)).encode()
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] in ("missing_signature", "bad_signature")
    assert (recording_inbox.messages, recording_inbox.updates, recording_inbox.kept) == ([], [], [])


async def test_signature_over_other_bytes_of_the_same_json_is_refused(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox
) -> None:
    client = await webhook_client()
    payload = message_webhook("שלום", phone_number_id=PHONE_NUMBER_ID)
    signed_bytes = json.dumps(payload).encode()
    sent_bytes = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = await client.post(
        WEBHOOK, data=sent_bytes, headers={"X-Hub-Signature-256": sign(APP_SECRET, signed_bytes)}
    )
    assert response.status == 401
    assert recording_inbox.messages == []


async def test_signed_message_reaches_the_inbox(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox
) -> None:
    client = await webhook_client()
    body, headers = signed(APP_SECRET, message_webhook("سلام 👋", phone_number_id=PHONE_NUMBER_ID))
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 200
    assert await response.json() == {"messages": 1, "statuses": 0, "kept_aside": 0}
    [message] = recording_inbox.messages
    assert (message.text, message.identity.external_id) == ("سلام 👋", "+972501234567")


async def test_one_post_carrying_a_batch_hands_over_every_item(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox
) -> None:
    first = message_webhook("one", phone_number_id=PHONE_NUMBER_ID, wamid="w1")
    second = message_webhook("two", phone_number_id=PHONE_NUMBER_ID, wamid="w2", sender="16505551234")
    status = json.loads(signed_status_webhook(APP_SECRET, "wamid.OUT", "delivered", phone_number_id="1")[0])
    first["entry"] += second["entry"] + status["entry"]
    first["entry"][0]["changes"][0]["value"]["messages"].append({"id": "w3", "type": "text"})
    client = await webhook_client()
    body, headers = signed(APP_SECRET, first)
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert await response.json() == {"messages": 2, "statuses": 1, "kept_aside": 1}
    assert [m.external_message_id for m in recording_inbox.messages] == ["w1", "w2"]
    assert [(u.external_message_id, u.status) for u in recording_inbox.updates] == [
        ("wamid.OUT", DeliveryStatus.DELIVERED)
    ]
    assert [(k.provider_id, k.reason) for k in recording_inbox.kept] == [
        ("w3", "malformed message: missing from")
    ]


class _RefusingInbox(RecordingInbox):
    """Refuses to store one message id with the given error."""

    def __init__(self, refused: str, error: BaseException) -> None:
        super().__init__()
        self.refused = refused
        self.error = error

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        if any(m.external_message_id == self.refused for m in messages):
            raise self.error
        return await super().ingest(messages)


def _two_messages() -> tuple[bytes, dict[str, str]]:
    payload = message_webhook("one", phone_number_id=PHONE_NUMBER_ID, wamid="w1")
    payload["entry"] += message_webhook("two", phone_number_id=PHONE_NUMBER_ID, wamid="w2")["entry"]
    return signed(APP_SECRET, payload)


async def test_a_message_the_store_refuses_is_kept_aside_and_the_others_are_stored(
    webhook_client: WebhookClient,
) -> None:
    inbox = _RefusingInbox("w1", ValueError("text too odd"))
    client = await webhook_client(inbox)
    body, headers = _two_messages()
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 200
    assert [m.external_message_id for m in inbox.messages] == ["w2"]
    assert [(k.provider_id, k.reason, k.body) for k in inbox.kept] == [("w1", "not stored: ValueError", body)]


class _StoreDown(SwitchboardError):
    status = 503
    code = "store_unavailable"


async def test_store_unavailable_answers_5xx_so_meta_redelivers_and_keeps_nothing_aside_yet(
    webhook_client: WebhookClient,
) -> None:
    inbox = _RefusingInbox("w2", _StoreDown("the database is unreachable"))
    client = await webhook_client(inbox)
    payload = json.loads(_two_messages()[0])
    payload["entry"][0]["changes"][0]["value"]["messages"].append({"id": "w3", "type": "text"})
    body, headers = signed(APP_SECRET, payload)
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 503
    # w3 is kept aside on the redelivery, once, not now and again then.
    assert inbox.kept == []


async def test_signed_status_helper_drives_record_delivery(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox
) -> None:
    client = await webhook_client()
    body, headers = signed_status_webhook(
        APP_SECRET, "wamid.7", "failed", phone_number_id=PHONE_NUMBER_ID, error_code=131026
    )
    assert (await client.post(WEBHOOK, data=body, headers=headers)).status == 200
    [update] = recording_inbox.updates
    assert (update.external_message_id, update.status, update.error) == (
        "wamid.7",
        DeliveryStatus.FAILED,
        "131026: Message undeliverable",
    )


def test_capabilities(make_channel: MakeChannel) -> None:
    channel = make_channel()
    recipient = ExternalIdentity("whatsapp_cloud", PHONE_NUMBER_ID, "+972501234567")
    assert channel.reply_window(recipient) == timedelta(hours=24)
    assert WhatsAppCloudChannel.keyword_opt_out is True
    assert [(r.method, r.path) for r in channel.webhook_routes()] == [("GET", ""), ("POST", "")]


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = read_channel_settings(CHANNEL, hub_env(SWITCHBOARD_WHATSAPP_GRAPH_VERSION="v23.0"))
    assert settings == WhatsAppCloudSettings(
        access_token="fake-access-token",
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        graph_base="http://127.0.0.1:9",
        graph_version="v23.0",
    )
    defaults = read_channel_settings(CHANNEL, {**hub_env(), "SWITCHBOARD_WHATSAPP_GRAPH_BASE": ""})
    assert defaults is not None
    assert (defaults.graph_base, defaults.graph_version) == ("https://graph.facebook.com", "v21.0")
    assert read_channel_settings(CHANNEL, {}) is None


def test_a_partial_configuration_names_the_missing_setting() -> None:
    env = {k: v for k, v in hub_env().items() if not k.endswith("APP_SECRET")}
    with pytest.raises(ConfigError) as caught:
        read_channel_settings(CHANNEL, env)
    assert caught.value.setting == "SWITCHBOARD_WHATSAPP_APP_SECRET"


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"phone_number_id": "+15550783881"}, "SWITCHBOARD_WHATSAPP_PHONE_NUMBER_ID"),
        ({"graph_base": "graph.facebook.com"}, "SWITCHBOARD_WHATSAPP_GRAPH_BASE"),
        ({"graph_version": "21"}, "SWITCHBOARD_WHATSAPP_GRAPH_VERSION"),
        ({"timeout_seconds": 0.0}, "SWITCHBOARD_WHATSAPP_TIMEOUT_SECONDS"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(
    make_channel: MakeChannel, override: dict[str, Any], setting: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_channel(**override)
    assert caught.value.setting == setting
