"""Pure parsing of Twilio's inbound message webhooks and status callbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import MultiDict

from channels._twilio.parse import Unparseable, e164
from channels.twilio_sms.parse import (
    account_of,
    is_status_callback,
    parse_message,
    parse_status,
)
from hub.messages import Attachment, DeliveryStatus, InboundKind

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
OURS = "+14155550100"
CUSTOMER = "+972501234567"
SID = "SM" + "a1" * 16


def _fields(*pairs: tuple[str, str], **named: str) -> MultiDict[str]:
    base = {"MessageSid": SID, "AccountSid": "AC" + "0" * 32, "From": CUSTOMER, "To": OURS}
    base.update(named)
    fields: MultiDict[str] = MultiDict({k: v for k, v in base.items() if v != "<absent>"})
    fields.extend(pairs)
    return fields


def _reason(fields: MultiDict[str]) -> str:
    with pytest.raises(Unparseable) as caught:
        parse_message(fields, received_at=NOW)
    return caught.value.reason


@pytest.mark.parametrize(
    "text",
    ["שלום, מה שלומך? 😊", "سلام، حالت چطوره؟", "مرحبا 👋 hello  ", "  line one\nline two\t", "a\x00b"],
)
def test_text_is_kept_exactly_as_written(text: str) -> None:
    message = parse_message(_fields(Body=text), received_at=NOW)
    assert message.text == text
    assert message.kind is InboundKind.TEXT and message.attachments == ()


def test_sms_identity_account_and_hints() -> None:
    message = parse_message(_fields(Body="hi"), received_at=NOW)
    assert message.identity.channel == "twilio_sms"
    assert message.identity.account == OURS
    assert message.identity.external_id == CUSTOMER and message.thread_key == CUSTOMER
    assert message.external_message_id == SID
    assert message.received_at == NOW
    assert message.sender_hints.phone == CUSTOMER and message.sender_hints.verified
    assert message.sender_hints.display_name is None


def test_whatsapp_sender_keeps_prefix_and_profile_name() -> None:
    fields = _fields(Body="hi", From=f"whatsapp:{CUSTOMER}", To=f"whatsapp:{OURS}", ProfileName="דנה לוי")
    fields.add("WaId", CUSTOMER.lstrip("+"))
    message = parse_message(fields, received_at=NOW)
    assert message.identity.external_id == f"whatsapp:{CUSTOMER}"
    assert message.thread_key == f"whatsapp:{CUSTOMER}"
    assert message.identity.account == OURS  # our number, without the whatsapp: prefix
    assert message.sender_hints.display_name == "דנה לוי"
    assert message.sender_hints.phone == CUSTOMER and message.sender_hints.verified


def test_sms_and_whatsapp_of_one_number_share_the_verified_phone() -> None:
    sms = parse_message(_fields(Body="a"), received_at=NOW)
    whatsapp = parse_message(_fields(Body="b", From=f"whatsapp:{CUSTOMER}"), received_at=NOW)
    assert sms.identity != whatsapp.identity
    assert sms.sender_hints.phone == whatsapp.sender_hints.phone == CUSTOMER


@pytest.mark.parametrize("sender", ["+12345", "22395", "MyBrand"])
def test_senders_that_are_not_phone_numbers_get_no_phone_hint(sender: str) -> None:
    message = parse_message(_fields(Body="hi", From=sender), received_at=NOW)
    assert message.identity.external_id == sender
    assert message.sender_hints.phone is None and not message.sender_hints.verified


def test_e164_normalises_possible_numbers_only() -> None:
    assert e164("+44 20 7946 0958") == "+442079460958"
    assert e164("+1234567890") is None
    assert e164("0501234567") is None
    assert e164("+") is None


@pytest.mark.parametrize(
    ("named", "sid"),
    [
        ({"MessageSid": "<absent>", "SmsSid": "SMlegacy"}, "SMlegacy"),
        ({"MessageSid": "<absent>", "SmsMessageSid": "SMlegacy2"}, "SMlegacy2"),
        ({"SmsSid": "SMother"}, SID),
    ],
)
def test_message_sid_falls_back_to_the_legacy_duplicates(named: dict[str, str], sid: str) -> None:
    assert parse_message(_fields(Body="x", **named), received_at=NOW).external_message_id == sid


@pytest.mark.parametrize(
    ("named", "account"),
    [
        ({"To": "<absent>", "MessagingServiceSid": "MG" + "1" * 32}, "MG" + "1" * 32),
        ({"To": "<absent>"}, "AC" + "0" * 32),
        ({"To": "", "MessagingServiceSid": "MGx"}, "MGx"),
        ({"To": f"whatsapp:{OURS}", "MessagingServiceSid": "MGx"}, OURS),
    ],
)
def test_account_falls_back_to_service_then_account_sid(named: dict[str, str], account: str) -> None:
    assert parse_message(_fields(Body="x", **named), received_at=NOW).identity.account == account


def test_account_of_a_status_callback_is_our_sending_number() -> None:
    assert account_of(MultiDict(From=f"whatsapp:{OURS}", To=CUSTOMER), our_field="From") == OURS


@pytest.mark.parametrize(
    ("named", "reason"),
    [
        ({"From": "<absent>"}, "malformed: missing From"),
        ({"From": "  "}, "malformed: missing From"),
        ({"MessageSid": "<absent>"}, "malformed: missing MessageSid"),
        ({"To": "<absent>", "AccountSid": "<absent>"}, "malformed: missing To"),
    ],
)
def test_incomplete_messages_are_unparseable(named: dict[str, str], reason: str) -> None:
    assert _reason(_fields(Body="x", **named)) == reason


def test_media_become_attachments_in_index_order() -> None:
    pairs = [(f"MediaUrl{i}", f"https://api.twilio.com/m/{i}") for i in (10, 2, 0, 1)]
    pairs += [(f"MediaContentType{i}", "image/jpeg") for i in (0, 1, 2)]
    message = parse_message(_fields(*pairs, Body="look", NumMedia="4"), received_at=NOW)
    assert message.kind is InboundKind.MEDIA and message.text == "look"
    assert [a.url for a in message.attachments] == [f"https://api.twilio.com/m/{i}" for i in (0, 1, 2, 10)]
    assert [a.content_type for a in message.attachments] == ["image/jpeg"] * 3 + ["application/octet-stream"]


def test_media_without_body_has_no_text() -> None:
    fields = _fields(("MediaUrl0", "https://api.twilio.com/m/0"), ("MediaContentType0", "audio/ogg"), Body="")
    message = parse_message(fields, received_at=NOW)
    assert message.kind is InboundKind.MEDIA and message.text is None
    assert message.attachments == (Attachment("audio/ogg", url="https://api.twilio.com/m/0"),)


def test_vcard_is_a_contact_card() -> None:
    fields = _fields(("MediaUrl0", "https://api.twilio.com/m/0"), ("MediaContentType0", "text/vcard"))
    message = parse_message(fields, received_at=NOW)
    assert message.kind is InboundKind.CONTACT_CARD
    assert message.text == "👤 Contact card" and len(message.attachments) == 1


def test_whatsapp_location_has_readable_text_and_structured_raw() -> None:
    fields = _fields(
        From=f"whatsapp:{CUSTOMER}",
        MessageType="location",
        Latitude="32.0853",
        Longitude="34.7818",
        Label="Dizengoff Center",
        Address="Tel Aviv",
    )
    message = parse_message(fields, received_at=NOW)
    assert message.kind is InboundKind.LOCATION
    assert message.text == "📍 32.0853, 34.7818 — Dizengoff Center, Tel Aviv"
    assert message.raw is not None
    assert message.raw["location"] == {
        "latitude": 32.0853,
        "longitude": 34.7818,
        "label": "Dizengoff Center",
        "address": "Tel Aviv",
    }


def test_bare_location_text() -> None:
    message = parse_message(_fields(Latitude="-33.9", Longitude="18.4"), received_at=NOW)
    assert message.text == "📍 -33.9, 18.4"


def test_malformed_location_is_unparseable() -> None:
    assert _reason(_fields(Latitude="north", Longitude="34.7")) == "malformed: location"


def test_quick_reply_button_is_text_with_the_button_in_raw() -> None:
    message = parse_message(
        _fields(MessageType="button", ButtonText="Yes, confirm", ButtonPayload="confirm-42"), received_at=NOW
    )
    assert message.kind is InboundKind.TEXT and message.text == "Yes, confirm"
    assert message.raw is not None
    assert message.raw["button"] == {"text": "Yes, confirm", "payload": "confirm-42"}


def test_reply_and_referral_are_kept_in_raw() -> None:
    message = parse_message(
        _fields(
            Body="about this ad",
            OriginalRepliedMessageSid="SMorig",
            OriginalRepliedMessageSender=f"whatsapp:{OURS}",
            ReferralSourceId="1234",
            ReferralSourceType="ad",
            ReferralHeadline="Sale",
            ReferralNumMedia="0",
        ),
        received_at=NOW,
    )
    assert message.reply_to_external_id == "SMorig"
    assert message.raw is not None
    assert message.raw["replied_to"] == {"sid": "SMorig", "sender": f"whatsapp:{OURS}"}
    assert message.raw["referral"] == {
        "Headline": "Sale",
        "NumMedia": "0",
        "SourceId": "1234",
        "SourceType": "ad",
    }


def test_raw_keeps_every_field_repeated_ones_as_lists() -> None:
    message = parse_message(_fields(("Tag", "a"), ("Tag", "b"), Body="x", FutureField="y"), received_at=NOW)
    assert message.raw is not None
    assert message.raw["FutureField"] == "y" and message.raw["Tag"] == ["a", "b"]


@pytest.mark.parametrize(
    ("named", "reason"),
    [
        ({}, "unsupported message type: empty"),
        ({"MessageType": "reaction"}, "unsupported message type: reaction"),
        ({"MessageType": "x" * 100}, "unsupported message type: " + "x" * 40),
    ],
)
def test_messages_with_nothing_we_can_show_are_unparseable(named: dict[str, str], reason: str) -> None:
    assert _reason(_fields(Body="", **named)) == reason


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("accepted", DeliveryStatus.QUEUED),
        ("scheduled", DeliveryStatus.QUEUED),
        ("queued", DeliveryStatus.QUEUED),
        ("sending", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("partially_delivered", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("undelivered", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
        ("receiving", None),
        ("received", None),
    ],
)
def test_status_mapping(status: str, expected: DeliveryStatus | None) -> None:
    update = parse_status(MultiDict(MessageSid=SID, MessageStatus=status), occurred_at=NOW)
    if expected is None:
        assert update is None
    else:
        assert update is not None
        assert (update.channel, update.external_message_id, update.status) == ("twilio_sms", SID, expected)
        assert update.occurred_at == NOW and update.error is None


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"ErrorCode": "30008", "ErrorMessage": "Unknown error"}, "30008: Unknown error"),
        ({"ErrorCode": "63016"}, "63016"),
        ({"ErrorCode": "0"}, None),
        ({"ErrorMessage": "carrier said no"}, "carrier said no"),
    ],
)
def test_status_error_is_code_and_message(extra: dict[str, str], error: str | None) -> None:
    update = parse_status(MultiDict(MessageSid=SID, MessageStatus="failed", **extra), occurred_at=NOW)
    assert update is not None and update.error == error


def test_status_falls_back_to_legacy_fields() -> None:
    update = parse_status(MultiDict(SmsSid="SMold", SmsStatus="sent"), occurred_at=NOW)
    assert update is not None and (update.external_message_id, update.status) == (
        "SMold",
        DeliveryStatus.SENT,
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"MessageStatus": "sent"}, "malformed: missing MessageSid"),
        ({"MessageSid": SID}, "malformed: missing MessageStatus"),
        ({"MessageSid": SID, "MessageStatus": "teleported"}, "unknown message status: teleported"),
    ],
)
def test_broken_status_callbacks_are_unparseable(fields: dict[str, str], reason: str) -> None:
    with pytest.raises(Unparseable) as caught:
        parse_status(MultiDict(fields), occurred_at=NOW)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"MessageStatus": "delivered"}, True),
        ({"MessageStatus": "received", "SmsStatus": "received"}, False),
        ({"SmsStatus": "received"}, False),
        ({"MessageStatus": ""}, False),
    ],
)
def test_status_callbacks_are_told_from_messages(fields: dict[str, str], expected: bool) -> None:
    assert is_status_callback(MultiDict(fields)) is expected
