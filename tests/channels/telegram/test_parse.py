"""The Telegram channel's pure rules: the secret header, and every update kind we meet, by fixture."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.telegram.parse import (
    ParsedMessage,
    UpdateAside,
    bot_id_from_token,
    is_valid_secret_token,
    parse_update,
    verify_secret_token,
)
from hub.errors import Unauthorized
from hub.messages import Attachment, InboundKind
from tests.channels.telegram.conftest import SECRET, fixture_bytes, fixture_json

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SENT = datetime.fromtimestamp(1764000000, UTC)
DANA = "555000111"


def _parse(body: bytes) -> ParsedMessage | UpdateAside:
    return parse_update(body, account="123456789", received_at=NOW)


def _stored(name: str) -> ParsedMessage:
    outcome = _parse(fixture_bytes(name))
    assert isinstance(outcome, ParsedMessage), outcome
    return outcome


def _aside(body: bytes) -> UpdateAside:
    outcome = _parse(body)
    assert isinstance(outcome, UpdateAside), outcome
    return outcome


# -- the secret header (https://core.telegram.org/bots/api#setwebhook) --------------------------------


def test_the_configured_secret_passes() -> None:
    verify_secret_token(SECRET, SECRET)


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "missing_signature"), ("", "missing_signature"), ("webhook-Secret_43", "bad_signature")],
)
def test_missing_or_wrong_secret_is_unauthorized(header: str | None, code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_secret_token(SECRET, header)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("A-z_0-9", True),
        ("x" * 256, True),
        ("", False),
        ("x" * 257, False),
        ("no spaces", False),
    ],
)
def test_secret_token_charset_is_telegrams(value: str, valid: bool) -> None:
    assert is_valid_secret_token(value) is valid


@pytest.mark.parametrize(
    ("token", "bot_id"),
    [("123456789:AAE-xyz", "123456789"), ("nocolon", None), ("abc:def", None), ("123:", None)],
)
def test_bot_id_is_read_from_the_token(token: str, bot_id: str | None) -> None:
    assert bot_id_from_token(token) == bot_id


# -- messages -------------------------------------------------------------------------------------------


def test_text_message_is_normalized() -> None:
    parsed = _stored("message__text.json")
    message = parsed.message
    assert parsed.update_id == 700001 and parsed.callback_query_id is None
    assert message.identity.channel == "telegram"
    assert message.identity.account == "123456789"
    assert message.identity.external_id == DANA and message.thread_key == DANA
    assert message.external_message_id == f"{DANA}:42"
    assert message.kind is InboundKind.TEXT
    assert message.text == "שלום! אני צריכה עזרה עם ההזמנה 🙏 order #A-17"
    assert message.received_at == SENT
    assert message.sender_hints.display_name == "דנה Levi"
    assert message.sender_hints.phone is None and message.sender_hints.verified is False
    assert message.raw is not None
    assert message.raw["update"] == fixture_json("message__text.json")
    assert [e["type"] for e in message.raw["entities"]] == ["bold", "hashtag"]


def test_reply_keeps_the_replied_to_message_id() -> None:
    message = _stored("message__reply.json").message
    assert message.text == "כן, זה נכון"
    assert message.reply_to_external_id == f"{DANA}:40"


def test_forward_keeps_its_origin() -> None:
    message = _stored("message__forward.json").message
    assert message.text == "Look at this offer" and message.kind is InboundKind.TEXT
    assert message.raw is not None
    assert message.raw["forwarded_from"] == {
        "type": "channel",
        "name": "Deals Channel",
        "date": "2025-11-24T13:13:20+00:00",
    }


@pytest.mark.parametrize(
    ("name", "text", "attachment"),
    [
        ("message__photo.json", "הקבלה", Attachment("image/jpeg", size=120000, media_id="photo-large")),
        (
            "message__document.json",
            None,
            Attachment("application/pdf", filename="invoice.pdf", size=536392, media_id="doc-1"),
        ),
        (
            "message__audio.json",
            None,
            Attachment("audio/mpeg", filename="song.mp3", size=3897500, media_id="audio-1"),
        ),
        ("message__voice.json", None, Attachment("audio/ogg", size=9000, media_id="voice-1")),
        (
            "message__video.json",
            "the broken part",
            Attachment("video/mp4", filename="clip.mp4", size=2000000, media_id="video-1"),
        ),
        ("message__sticker.json", None, Attachment("image/webp", size=20000, media_id="sticker-1")),
    ],
)
def test_media_becomes_an_attachment_with_the_file_id(
    name: str, text: str | None, attachment: Attachment
) -> None:
    message = _stored(name).message
    assert message.kind is InboundKind.MEDIA
    assert message.text == text
    assert message.attachments == (attachment,)


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("message__location.json", InboundKind.LOCATION, "📍 32.0853, 34.78177"),
        (
            "message__venue.json",
            InboundKind.LOCATION,
            "📍 32.0853, 34.7818 — Dizengoff Center, Dizengoff St 50, Tel Aviv",
        ),
        ("message__contact.json", InboundKind.CONTACT_CARD, "👤 Yossi Cohen, +972501234567"),
    ],
)
def test_location_and_contact_get_readable_text(name: str, kind: InboundKind, text: str) -> None:
    message = _stored(name).message
    assert (message.kind, message.text) == (kind, text)
    # The card's number is someone else's: it never becomes the sender's phone.
    assert message.sender_hints.phone is None


def test_group_message_belongs_to_the_group() -> None:
    message = _stored("message__group_text.json").message
    assert message.identity.external_id == "-1009876543210" == message.thread_key
    assert message.external_message_id == "-1009876543210:9"
    assert message.sender_hints.display_name == "Acme buyers"


def test_edit_is_its_own_message_with_a_distinct_id() -> None:
    original = _stored("message__text.json").message
    edit = _stored("edited_message__text.json").message
    assert edit.kind is InboundKind.EDIT
    assert edit.text == "שלום! אני צריכה עזרה עם ההזמנה A-18 (תיקון)"
    assert edit.external_message_id == f"{DANA}:42:edit:1764000300"
    assert edit.external_message_id != original.external_message_id
    assert edit.thread_key == original.thread_key
    assert edit.received_at == datetime.fromtimestamp(1764000300, UTC)


def test_button_press_is_a_customer_turn_to_answer() -> None:
    parsed = _stored("callback_query__button.json")
    message = parsed.message
    assert parsed.callback_query_id == "4382bfdwdsb323b2d9"
    assert message.kind is InboundKind.TEXT and message.text == "order:A-17:cancel"
    assert message.identity.external_id == DANA and message.thread_key == DANA
    assert message.external_message_id == f"{DANA}:callback:4382bfdwdsb323b2d9"
    assert message.received_at == NOW
    assert message.sender_hints.display_name == "דנה Levi"


# -- what is kept aside ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("callback_query__inline_message.json", "unsupported update: callback_query without message"),
        ("channel_post.json", "unsupported update: channel_post"),
        ("my_chat_member.json", "unsupported update: my_chat_member"),
        ("edited_message__live_location.json", "unsupported update: edited_message (live location)"),
        ("message__service_new_chat_members.json", "unsupported message: new_chat_members"),
    ],
)
def test_what_we_do_not_store_is_kept_aside_with_a_reason(name: str, reason: str) -> None:
    aside = _aside(fixture_bytes(name))
    assert aside.reason == reason
    assert aside.update_id == fixture_json(name)["update_id"]


def _without_is_bot(update: dict[str, Any]) -> bytes:
    del update["message"]["from"]["is_bot"]
    return json.dumps(update).encode()


@pytest.mark.parametrize(
    ("body", "update_id", "reason"),
    [
        (b"{not json", None, "malformed: body is not JSON"),
        (b"\xff\xfe", None, "malformed: body is not JSON"),
        (b"[1]", None, "malformed: body is not a JSON object"),
        (b'{"message": {}}', None, "malformed: update_id is missing or not an integer"),
        (b'{"update_id": "7", "message": {}}', None, "malformed: update_id is missing or not an integer"),
        (b'{"update_id": 7}', 7, "malformed: update carries nothing"),
        (b'{"update_id": 8, "message": {"message_id": 1}}', 8, "malformed: update 8: KeyError: 'date'"),
        (
            _without_is_bot(fixture_json("message__text.json")),
            700001,
            "malformed: update 700001: TypeError: User.__init__() missing 1 required positional argument:"
            " 'is_bot'",
        ),
    ],
)
def test_malformed_updates_are_kept_aside_not_raised(body: bytes, update_id: int | None, reason: str) -> None:
    aside = _aside(body)
    assert aside.update_id == update_id
    assert aside.reason.startswith(reason)
