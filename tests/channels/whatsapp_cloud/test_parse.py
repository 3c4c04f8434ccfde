"""The pure inbound rules: signature, verification handshake, and every message and status shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.whatsapp_cloud.content import message_content
from channels.whatsapp_cloud.parse import (
    ParsedWebhook,
    e164,
    parse_webhook,
    sign,
    verify_challenge,
    verify_signature,
)
from hub.errors import BadRequest, Forbidden, Unauthorized
from hub.messages import Attachment, DeliveryStatus, DeliveryUpdate, InboundKind
from tests.channels.whatsapp_cloud.conftest import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN
from tests.corpus import corpus_json

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
AT = datetime.fromtimestamp(1750000000, UTC)
CUSTOMER = "972501234567"


def _parse(payload: dict[str, Any] | bytes) -> ParsedWebhook:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_webhook(body, default_account="999", received_at=NOW)


def _value(messages: list[dict[str, Any]] = (), statuses: list[dict[str, Any]] = (), **extra: Any) -> Any:  # type: ignore[assignment]
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Dana Levi"}, "wa_id": CUSTOMER}],
        **extra,
    }
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return value


def _body(*values: Any, field: str = "messages") -> dict[str, Any]:
    changes = [{"value": value, "field": field} for value in values]
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]}


def _message(kind: str, content: Any = None, wamid: str = "wamid.A", **extra: Any) -> dict[str, Any]:
    message = {"from": CUSTOMER, "id": wamid, "timestamp": "1750000000", "type": kind, **extra}
    if content is not None:
        message[kind] = content
    return message


def _one(message: dict[str, Any]) -> ParsedWebhook:
    return _parse(_body(_value([message])))


# -- signature -------------------------------------------------------------------------------------


def test_signature_known_answer_of_the_hmac_sha256_hex_scheme() -> None:
    # X-Hub-Signature-256 is the scheme GitHub documents with this vector ("Validating webhook
    # deliveries"); Meta signs the same way, keyed with the app secret.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected


def test_signature_known_answer_over_a_corpus_body() -> None:
    # From: openssl dgst -sha256 -hmac test-app-secret <json.dumps(pywa_message.json["text"])>
    body = json.dumps(corpus_json("whatsapp", "pywa_message.json")["text"]).encode()
    assert sign(APP_SECRET, body) == "sha256=7e9a4b2ec9abd33dfc0c714f894c8526167227600ec44e16bfbb68e4b0b7381d"
    verify_signature(APP_SECRET, body, sign(APP_SECRET, body))


def test_signature_hex_case_does_not_matter() -> None:
    verify_signature(APP_SECRET, b"{}", sign(APP_SECRET, b"{}").upper())


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("sha256=" + "0" * 64, "bad_signature"),
        ("sha1=abc", "bad_signature"),
        ("sha256=שלום", "bad_signature"),
    ],
)
def test_missing_or_wrong_signature_is_unauthorized(header: str | None, code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_signature(APP_SECRET, b"{}", header)
    assert caught.value.code == code


def test_signature_is_over_the_raw_bytes_not_over_reserialized_json() -> None:
    raw = b'{"text":{"body":"\\u05e9\\u05dc\\u05d5\\u05dd https:\\/\\/x.example"}}'
    verify_signature(APP_SECRET, raw, sign(APP_SECRET, raw))
    reserialized = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    with pytest.raises(Unauthorized):
        verify_signature(APP_SECRET, reserialized, sign(APP_SECRET, raw))


def test_signature_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify_signature(APP_SECRET, b"{}", sign("another-secret", b"{}"))


# -- verification handshake --------------------------------------------------------------------------


def test_handshake_echoes_the_challenge_for_our_token() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert verify_challenge(query, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ],
)
def test_handshake_with_a_wrong_token_or_mode_is_forbidden(query: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        verify_challenge(query, VERIFY_TOKEN)


def test_handshake_without_challenge_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        verify_challenge({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, VERIFY_TOKEN)


# -- identity ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [("972501234567", "+972501234567"), ("16505551234", "+16505551234"), ("+4407700900123", "+447700900123")],
)
def test_wa_id_becomes_e164(wa_id: str, expected: str) -> None:
    assert e164(wa_id) == expected


def test_sender_identity_and_hints() -> None:
    [message] = _one(_message("text", {"body": "hi"})).messages
    assert message.identity.channel == "whatsapp_cloud"
    assert message.identity.account == PHONE_NUMBER_ID
    assert message.identity.external_id == "+972501234567"
    assert message.thread_key == "+972501234567"
    assert message.external_message_id == "wamid.A"
    assert message.received_at == datetime.fromtimestamp(1750000000, UTC)
    hints = message.sender_hints
    assert (hints.display_name, hints.phone, hints.verified) == ("Dana Levi", "+972501234567", True)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [("1750000000", AT), (1750000000, AT), ("yesterday", NOW), (None, NOW), ("99999999999999999999", NOW)],
)
def test_timestamp_is_the_providers_when_readable(timestamp: Any, expected: datetime) -> None:
    [message] = _one(_message("text", {"body": "hi"}, timestamp=timestamp)).messages
    assert message.received_at == expected


@pytest.mark.parametrize(
    "text",
    [
        "שלום, ההזמנה שלי לא הגיעה",
        "سلام، سفارشم نرسیده",
        "مرحبا 👋🏽",
        "mixed עברית and English 🇮🇱",
        "  spaces  \n",
    ],
)
def test_text_is_kept_exactly_as_written(text: str) -> None:
    [message] = _one(_message("text", {"body": text})).messages
    assert message.text == text and message.kind is InboundKind.TEXT


# -- message types -----------------------------------------------------------------------------------


def test_edit_carries_the_new_text_and_names_the_original() -> None:
    edit = {"original_message_id": "wamid.ORIG", "message": {"type": "text", "text": {"body": "fixed typo"}}}
    [message] = _one(_message("edit", edit, wamid="wamid.EDIT")).messages
    assert (message.kind, message.text, message.external_message_id) == (
        InboundKind.EDIT,
        "fixed typo",
        "wamid.EDIT",
    )
    assert message.reply_to_external_id == "wamid.ORIG"


def test_edit_of_a_media_caption_keeps_the_media() -> None:
    inner = {"type": "image", "image": {"caption": "new caption", "mime_type": "image/png", "id": "77"}}
    [message] = _one(_message("edit", {"original_message_id": "wamid.O", "message": inner})).messages
    assert message.kind is InboundKind.EDIT and message.text == "new caption"
    assert message.attachments == (Attachment("image/png", media_id="77"),)


def test_revoke_is_an_event_naming_the_deleted_message() -> None:
    [message] = _one(_message("revoke", {"original_message_id": "wamid.GONE"})).messages
    assert (message.kind, message.text) == (InboundKind.EVENT, "Deleted a message")
    assert message.reply_to_external_id == "wamid.GONE"


def test_system_notice_is_an_event_with_metas_words() -> None:
    system = {"body": "User A changed from 972501234567 to 972509999999", "type": "user_changed_number"}
    [message] = _one(_message("system", system)).messages
    assert (message.kind, message.text) == (InboundKind.EVENT, system["body"])


def test_flow_response_is_text_with_the_answers() -> None:
    reply = {"name": "flow", "body": "Sent", "response_json": '{"size": "M"}'}
    [message] = _one(_message("interactive", {"type": "nfm_reply", "nfm_reply": reply})).messages
    assert (message.kind, message.text) == (InboundKind.TEXT, 'Flow response: {"size": "M"}')


def test_order_with_a_note_keeps_the_note_verbatim() -> None:
    order = {
        "catalog_id": "1",
        "text": "בלי בצל",
        "product_items": [{"product_retailer_id": "X", "quantity": 1}],
    }
    [message] = _one(_message("order", order)).messages
    assert message.text == "🛒 Order: 1 × X\nבלי בצל"


def test_contact_card_lists_emails_too() -> None:
    card = {"name": {"first_name": "Noa"}, "emails": [{"email": "noa@example.com"}]}
    [message] = _one(_message("contacts", None, contacts=[card])).messages
    assert (message.kind, message.text) == (InboundKind.CONTACT_CARD, "👤 Noa: noa@example.com")


def test_document_keeps_filename_and_mime_type() -> None:
    document = {"filename": "חשבונית.pdf", "mime_type": "application/pdf", "id": "42"}
    [message] = _one(_message("document", document)).messages
    assert message.attachments == (Attachment("application/pdf", filename="חשבונית.pdf", media_id="42"),)
    assert message.text is None


def test_reply_and_forward_are_kept_in_raw() -> None:
    [reply] = _one(_message("text", {"body": "yes"}, context={"from": "1", "id": "wamid.OURS"})).messages
    [forward] = _one(_message("text", {"body": "fw"}, context={"frequently_forwarded": True})).messages
    assert reply.raw is not None and forward.raw is not None
    assert (reply.reply_to_external_id, reply.raw["forwarded"]) == ("wamid.OURS", False)
    assert (forward.reply_to_external_id, forward.raw["forwarded"]) == (None, True)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (_message("request_welcome"), "unsupported message type: request_welcome"),
        (_message("text", {"text": "no body"}), "malformed message: text without body"),
        (_message("image", {"mime_type": "image/jpeg"}), "malformed message: image without id"),
        (_message("location", {"name": "x"}), "malformed message: location without coordinates"),
        (_message("contacts", None, contacts=[]), "malformed message: contacts without cards"),
        (_message("interactive"), "malformed message: interactive without content"),
        (_message("interactive", {"type": "product_list"}), "unsupported interactive type: product_list"),
        (_message("interactive", {"type": "button_reply"}), "malformed message: button_reply without title"),
        (_message("button", {}), "malformed message: button without text"),
        (_message("order", {"product_items": []}), "malformed message: order without items"),
        (
            _message("edit", {"message": {"type": "text"}}),
            "malformed message: edit without original_message_id",
        ),
        (_message("edit", {"original_message_id": "w"}), "malformed message: edit without the new message"),
        (_message("revoke", {}), "malformed message: revoke without original_message_id"),
        ({"from": CUSTOMER, "type": "text", "text": {"body": "x"}}, "malformed message: missing id"),
        ({"id": "wamid.A", "type": "text", "text": {"body": "x"}}, "malformed message: missing from"),
        ({"id": "wamid.A", "from_user_id": "US.1", "type": "text"}, "unsupported sender: no phone number"),
        (
            _message("text", {"body": "x"}, **{"from": "not-a-number"}),
            "malformed message: from is not a phone number",
        ),
        (
            _message("text", {"body": "x"}, **{"from": "0123"}),
            "malformed message: from is not a phone number",
        ),
        (_message("text", {"body": "x"}, id=""), "malformed message: missing id"),
    ],
)
def test_unusable_message_is_kept_aside_with_its_reason(message: dict[str, Any], reason: str) -> None:
    parsed = _one(message)
    assert parsed.messages == ()
    [kept] = parsed.kept
    assert (kept.reason, kept.channel, kept.account) == (reason, "whatsapp_cloud", PHONE_NUMBER_ID)
    assert kept.provider_id == (message.get("id") or None)
    assert kept.content_type == "application/json" and kept.received_at == NOW


def test_a_reader_that_trips_keeps_that_message_aside_and_the_batch_going(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def trip(message: dict[str, Any]) -> Any:
        if message["id"] == "w1":
            raise KeyError("surprise")
        return message_content(message)

    monkeypatch.setattr("channels.whatsapp_cloud.parse.message_content", trip)
    parsed = _parse(_body(_value([_message("text", {"body": "a"}, wamid=w) for w in ("w1", "w2")])))
    assert [m.external_message_id for m in parsed.messages] == ["w2"]
    assert [(k.reason, k.provider_id) for k in parsed.kept] == [("malformed message: KeyError", "w1")]


def test_unexpected_field_types_are_ignored_not_fatal() -> None:
    [message] = _one(_message("location", {"latitude": 1, "longitude": 2, "name": 7}, context=[])).messages
    assert message.text == "📍 1, 2"


# -- statuses ------------------------------------------------------------------------------------------


def _status(status: str, wamid: str = "wamid.OUT", **extra: Any) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": "1750000100", "recipient_id": CUSTOMER, **extra}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("played", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
    ],
)
def test_status_maps_onto_delivery_status(status: str, expected: DeliveryStatus) -> None:
    parsed = _parse(_body(_value(statuses=[_status(status)])))
    assert parsed.updates == (
        DeliveryUpdate("whatsapp_cloud", "wamid.OUT", expected, datetime.fromtimestamp(1750000100, UTC)),
    )


def test_failed_status_names_every_error() -> None:
    errors = [
        {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"},
        {"code": 131053, "title": "Media upload error", "error_data": {"details": "Unsupported type"}},
    ]
    [update] = _parse(_body(_value(statuses=[_status("failed", errors=errors)]))).updates
    assert update.error == "131026: Message undeliverable; 131053: Media upload error — Unsupported type"


@pytest.mark.parametrize(
    ("status", "reason", "provider_id"),
    [
        (_status("deleted"), "unsupported status: deleted", "wamid.OUT"),
        (_status("warning"), "unsupported status: warning", "wamid.OUT"),
        ({"status": "read", "timestamp": "1"}, "malformed status: missing id", None),
    ],
)
def test_unusable_status_is_kept_aside(status: dict[str, Any], reason: str, provider_id: str | None) -> None:
    parsed = _parse(_body(_value(statuses=[status])))
    assert parsed.updates == ()
    assert [(k.reason, k.provider_id) for k in parsed.kept] == [(reason, provider_id)]


# -- envelope and batches ----------------------------------------------------------------------------


def test_one_post_with_many_entries_changes_messages_and_statuses_handles_every_item() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [
                {"field": "messages", "value": _value(
                    [_message("text", {"body": "one"}, wamid="w1"), _message("bogus", wamid="w2"),
                     _message("text", {"body": "three"}, wamid="w3")],
                    [_status("read", "o1"), _status("nonsense", "o2")])},
                {"field": "message_template_status_update", "value": {"message_template_id": 7}},
            ]},
            {"id": "2", "changes": [
                {"field": "messages", "value": _value(
                    [{**_message("text", {"body": "four"}, wamid="w4"), "from": "16505551234"}],
                    contacts=[{"profile": {"name": "Sam"}, "wa_id": "16505551234"}],
                    metadata={"phone_number_id": "555"})},
            ]},
        ],
    }  # fmt: skip
    parsed = _parse(body)
    assert [(m.external_message_id, m.text, m.identity.account) for m in parsed.messages] == [
        ("w1", "one", PHONE_NUMBER_ID),
        ("w3", "three", PHONE_NUMBER_ID),
        ("w4", "four", "555"),
    ]
    assert parsed.messages[2].sender_hints.display_name == "Sam"
    assert [(u.external_message_id, u.status) for u in parsed.updates] == [("o1", DeliveryStatus.READ)]
    assert [(k.reason, k.provider_id, k.account) for k in parsed.kept] == [
        ("unsupported message type: bogus", "w2", PHONE_NUMBER_ID),
        ("unsupported status: nonsense", "o2", PHONE_NUMBER_ID),
        ("unsupported field: message_template_status_update", "7", "999"),
    ]
    assert all(k.body == json.dumps(body).encode() for k in parsed.kept)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed: body is not JSON"),
        (b"\xff\xfe", "malformed: body is not JSON"),
        (b"[]", "malformed: no entry list"),
        (b'{"object": "whatsapp_business_account"}', "malformed: no entry list"),
        (b'{"object": "page", "entry": []}', "unsupported object: page"),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}',
            "malformed: entry without changes",
        ),
    ],
)
def test_malformed_envelope_is_kept_aside_whole(body: bytes, reason: str) -> None:
    parsed = _parse(body)
    assert (parsed.messages, parsed.updates) == ((), ())
    assert [(k.reason, k.account, k.body) for k in parsed.kept] == [(reason, "999", body)]


def test_change_without_messages_or_statuses_is_kept_aside() -> None:
    errors = [{"code": 131000, "title": "Something went wrong"}]
    parsed = _parse(_body(_value(errors=errors), _value()))
    assert [k.reason for k in parsed.kept] == ["provider error: 131000", "malformed: change without messages"]


def test_messages_without_our_phone_number_id_are_kept_aside() -> None:
    value = _value([_message("text", {"body": "x"})])
    del value["metadata"]
    assert [k.reason for k in _parse(_body(value)).kept] == [
        "malformed: change without metadata.phone_number_id"
    ]


def test_display_name_is_the_senders_own_contact_entry() -> None:
    contacts = [
        {"profile": {"name": "Other"}, "wa_id": "16505551234"},
        {"profile": {"name": "Dana Levi"}, "wa_id": CUSTOMER},
    ]
    [message] = _parse(_body(_value([_message("text", {"body": "x"})], contacts=contacts))).messages
    assert message.sender_hints.display_name == "Dana Levi"
    [nameless] = _parse(_body(_value([_message("text", {"body": "x"})], contacts=[]))).messages
    assert nameless.sender_hints.display_name is None
