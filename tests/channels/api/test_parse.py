"""The API channel's pure parsing and signature rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from channels.api.parse import parse_message, sign, verify_signature
from hub.errors import BadRequest, Unauthorized
from hub.messages import InboundKind

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SECRET = "s3cret"
OPENSSL_DIGEST = "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"


def _body(**fields: object) -> bytes:
    data: dict[str, object] = {"message_id": "m-1", "sender": {"id": "crm-42"}, "text": "שלום"}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_signature_round_trips() -> None:
    verify_signature(SECRET, b'{"a":1}', sign(SECRET, b'{"a":1}'))


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    # Reference value from: printf '{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert sign(SECRET, b'{"a":1}') == "sha256=" + OPENSSL_DIGEST


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("sha256=00", "bad_signature"),
        ("nonsense", "bad_signature"),
    ],
)
def test_bad_or_missing_signature_is_unauthorized(header: str | None, code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_signature(SECRET, b"{}", header)
    assert caught.value.code == code


def test_signature_over_a_different_body_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify_signature(SECRET, b'{"a":2}', sign(SECRET, b'{"a":1}'))


def test_full_message_is_normalized() -> None:
    body = _body(
        sender={"id": "crm-42", "name": "Dana Levi", "email": "dana@example.com", "phone": "+972501234567"},
        sent_at="2026-11-24T10:00:00+02:00",
        attachments=[{"url": "https://files.example/a.pdf", "content_type": "application/pdf"}],
    )
    message = parse_message(body, account="default", received_at=NOW)
    assert message.identity.channel == "api" and message.identity.external_id == "crm-42"
    assert message.external_message_id == "m-1" and message.thread_key == "crm-42"
    assert message.text == "שלום" and message.kind is InboundKind.TEXT
    assert message.received_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert message.sender_hints.display_name == "Dana Levi"
    assert message.sender_hints.phone == "+972501234567"
    assert message.attachments[0].url == "https://files.example/a.pdf"


def test_attachments_alone_are_a_media_message() -> None:
    message = parse_message(
        _body(text=..., attachments=[{"url": "https://files.example/p.jpg", "content_type": "image/jpeg"}]),
        account="default",
        received_at=NOW,
    )
    assert message.kind is InboundKind.MEDIA and message.text is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (_body(message_id=...), "message_id is required"),
        (_body(message_id=""), "message_id must not be empty"),
        (_body(message_id=7), "message_id must be a string"),
        (_body(sender=...), "sender is required"),
        (_body(sender="crm-42"), "sender must be an object"),
        (_body(sender={"name": "x"}), "sender.id is required"),
        (_body(text=...), "text is required"),
        (_body(sent_at="yesterday"), "sent_at is not ISO 8601"),
        (_body(sent_at="2026-11-24T10:00:00"), "sent_at must include a time zone"),
        (_body(attachments=[{"content_type": "image/png"}]), "attachments[0].url is required"),
    ],
)
def test_malformed_body_names_the_problem(body: bytes, names: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_message(body, account="default", received_at=NOW)
    assert names in caught.value.detail
