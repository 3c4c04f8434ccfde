"""Pure parsing of Twilio's messaging webhooks: form fields in, normalized types out, no I/O.

Field lists: Twilio docs "Messaging Webhooks" (inbound SMS/MMS), "WhatsApp: Receive messages" (ProfileName,
MessageType, Latitude/Longitude, ButtonText, Referral*), "Outbound Message Status in Status Callbacks".
Twilio adds fields without notice, so unknown fields are kept in ``raw`` and never refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from multidict import MultiMapping

from channels._twilio.parse import Unparseable, e164, raw_fields
from channels.twilio_sms.const import NAME, STATUS_MAP, VCARD_TYPES, WHATSAPP_PREFIX
from hub.messages import (
    Attachment,
    DeliveryUpdate,
    ExternalIdentity,
    InboundKind,
    InboundMessage,
    SenderHints,
)

__all__ = [
    "account_of",
    "is_status_callback",
    "message_sid",
    "parse_message",
    "parse_status",
    "split_address",
]

Fields = MultiMapping[str]

_MEDIA_URL = re.compile(r"MediaUrl(\d+)")
_REASON_VALUE_LIMIT = 40


def _get(fields: Fields, name: str) -> str | None:
    value = fields.get(name)
    return value or None


def _short(value: str) -> str:
    return value[:_REASON_VALUE_LIMIT]


def split_address(value: str) -> tuple[str, str]:
    """``("whatsapp:", "+1555…")`` for a channel address, ``("", "+1555…")`` for a plain number."""
    if value.startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX, value[len(WHATSAPP_PREFIX) :]
    return "", value


def _number(value: str) -> str:
    """Our number or the customer's, without channel prefix, in E.164 when it is one."""
    address = split_address(value.strip())[1]
    return e164(address) or address


def message_sid(fields: Fields) -> str | None:
    """The message's id; ``SmsSid``/``SmsMessageSid`` are Twilio's legacy duplicates of ``MessageSid``."""
    return _get(fields, "MessageSid") or _get(fields, "SmsMessageSid") or _get(fields, "SmsSid")


def account_of(fields: Fields, *, our_field: str = "To") -> str | None:
    """Which of our senders this is about: our number, else the Messaging Service, else the account.

    Inbound messages name our number in ``To`` (status callbacks in ``From``). Some senders' payloads lack
    it; then the Messaging Service SID, else the Account SID, stands for our side, so that a replay lands
    on the same account every time.
    """
    ours = _get(fields, our_field)
    if ours and ours.strip():
        return _number(ours)
    return _get(fields, "MessagingServiceSid") or _get(fields, "AccountSid")


def is_status_callback(fields: Fields) -> bool:
    """Whether a POST to the message URL is in fact a status callback (a service may send both there)."""
    return _get(fields, "MessageStatus") not in (None, "received", "receiving")


def _attachments(fields: Fields) -> tuple[Attachment, ...]:
    """``MediaUrl{N}`` with ``MediaContentType{N}``, in N order (MediaUrl10 after MediaUrl9)."""
    found: list[tuple[int, Attachment]] = []
    for name in set(fields):
        match = _MEDIA_URL.fullmatch(name)
        url = _get(fields, name)
        if match is None or url is None:
            continue
        index = match.group(1)
        content_type = _get(fields, f"MediaContentType{index}") or "application/octet-stream"
        found.append((int(index), Attachment(content_type, url=url)))
    return tuple(attachment for _, attachment in sorted(found, key=lambda item: item[0]))


def _location(fields: Fields) -> tuple[str, dict[str, Any]] | None:
    """A shared location's readable text and structured data; WhatsApp sends these without a Body."""
    latitude, longitude = _get(fields, "Latitude"), _get(fields, "Longitude")
    if latitude is None or longitude is None:
        return None
    try:
        data: dict[str, Any] = {"latitude": float(latitude), "longitude": float(longitude)}
    except ValueError as err:
        raise Unparseable("malformed: location") from err
    names = [value for value in (_get(fields, "Label"), _get(fields, "Address")) if value]
    data.update(label=_get(fields, "Label"), address=_get(fields, "Address"))
    text = f"📍 {latitude}, {longitude}" + (f" — {', '.join(names)}" if names else "")
    return text, data


def _extras(fields: Fields) -> dict[str, Any]:
    """Structured WhatsApp extras for ``raw``: quick-reply button, the message replied to, ad referral."""
    extras: dict[str, Any] = {}
    if _get(fields, "ButtonText") or _get(fields, "ButtonPayload"):
        extras["button"] = {"text": _get(fields, "ButtonText"), "payload": _get(fields, "ButtonPayload")}
    if _get(fields, "OriginalRepliedMessageSid"):
        extras["replied_to"] = {
            "sid": _get(fields, "OriginalRepliedMessageSid"),
            "sender": _get(fields, "OriginalRepliedMessageSender"),
        }
    referral = {
        name.removeprefix("Referral"): value
        for name in sorted(set(fields))
        if name.startswith("Referral") and (value := _get(fields, name))
    }
    if referral:
        extras["referral"] = referral
    return extras


def _content(fields: Fields) -> tuple[InboundKind, str | None, tuple[Attachment, ...], dict[str, Any]]:
    """What the customer sent: kind, readable text, attachments, structured extras."""
    body = _get(fields, "Body")
    extras = _extras(fields)
    location = _location(fields)
    if location is not None:
        return InboundKind.LOCATION, location[0], (), {**extras, "location": location[1]}
    attachments = _attachments(fields)
    if attachments and all(a.content_type.split(";")[0] in VCARD_TYPES for a in attachments):
        return InboundKind.CONTACT_CARD, body or "👤 Contact card", attachments, extras
    if attachments:
        return InboundKind.MEDIA, body, attachments, extras
    text = body or (extras.get("button") or {}).get("text")
    if text is None:
        raise Unparseable(f"unsupported message type: {_short(_get(fields, 'MessageType') or 'empty')}")
    return InboundKind.TEXT, text, (), extras


def parse_message(fields: Fields, *, received_at: datetime) -> InboundMessage:
    """Turn a verified inbound message webhook into an InboundMessage, or raise Unparseable with the reason.

    Twilio's inbound webhook has no timestamp, so ``received_at`` is when the hub received it.
    """
    sender = _get(fields, "From")
    if sender is None or not sender.strip():
        raise Unparseable("malformed: missing From")
    sid = message_sid(fields)
    if sid is None:
        raise Unparseable("malformed: missing MessageSid")
    account = account_of(fields)
    if account is None:
        raise Unparseable("malformed: missing To")
    kind, text, attachments, extras = _content(fields)
    prefix, address = split_address(sender.strip())
    phone = e164(address)
    external_id = prefix + (phone or address)
    return InboundMessage(
        identity=ExternalIdentity(NAME, account, external_id),
        external_message_id=sid,
        thread_key=external_id,
        kind=kind,
        received_at=received_at,
        text=text,
        attachments=attachments,
        sender_hints=SenderHints(
            display_name=_get(fields, "ProfileName"), phone=phone, verified=phone is not None
        ),
        raw={**raw_fields(fields), **extras},
        reply_to_external_id=_get(fields, "OriginalRepliedMessageSid") or None,
    )


def _error(fields: Fields) -> str | None:
    code, message = _get(fields, "ErrorCode"), _get(fields, "ErrorMessage")
    if code is None or code == "0":
        return message
    return f"{code}: {message}" if message else code


def parse_status(fields: Fields, *, occurred_at: datetime) -> DeliveryUpdate | None:
    """A status callback as a DeliveryUpdate; None for statuses that say nothing about delivery.

    Status callbacks carry no event time, so ``occurred_at`` is when the hub received it.
    """
    sid = message_sid(fields)
    if sid is None:
        raise Unparseable("malformed: missing MessageSid")
    status = _get(fields, "MessageStatus") or _get(fields, "SmsStatus")
    if status is None:
        raise Unparseable("malformed: missing MessageStatus")
    if status not in STATUS_MAP:
        raise Unparseable(f"unknown message status: {_short(status)}")
    mapped = STATUS_MAP[status]
    if mapped is None:
        return None
    return DeliveryUpdate(NAME, sid, mapped, occurred_at, error=_error(fields))
