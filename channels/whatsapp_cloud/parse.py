"""Pure rules of the WhatsApp Cloud webhook: signature, verification handshake, and the batch body.

One POST carries ``entry[].changes[]``, each with ``value.messages[]`` and/or ``value.statuses[]``
(https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components). Every item becomes an
InboundMessage, a DeliveryUpdate or a KeptAside on its own: one bad item never sinks its neighbours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from channels.whatsapp_cloud.const import MESSAGES_FIELD, NAME, SIGNATURE_PREFIX, WEBHOOK_OBJECT
from channels.whatsapp_cloud.content import Unusable, as_dict, as_id, as_list, as_str, message_content
from hub.errors import BadRequest, Forbidden, Unauthorized
from hub.messages import (
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
    KeptAside,
    SenderHints,
)

__all__ = [
    "ParsedWebhook",
    "e164",
    "parse_webhook",
    "sign",
    "verify_challenge",
    "verify_signature",
]

# https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/reference/messages/status
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,  # a voice message was listened to
    "failed": DeliveryStatus.FAILED,
}
_DIGITS = re.compile(r"[0-9]+")


def sign(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` of ``body``: ``sha256=`` + hex HMAC-SHA256 keyed with the app secret."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise Unauthorized unless ``header`` signs exactly these bytes (never re-serialized JSON)."""
    if not header or not header.strip():
        raise Unauthorized("missing X-Hub-Signature-256 header", code="missing_signature")
    given = header.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(sign(app_secret, body).encode(), given):
        raise Unauthorized("X-Hub-Signature-256 does not match the body", code="bad_signature")


def verify_challenge(query: Mapping[str, str], verify_token: str) -> str:
    """The ``hub.challenge`` to echo when ``hub.verify_token`` is ours; Forbidden otherwise.

    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    """
    token = query.get("hub.verify_token", "")
    matches = hmac.compare_digest(token.encode("utf-8", "replace"), verify_token.encode())
    if query.get("hub.mode") != "subscribe" or not matches:
        raise Forbidden("hub.verify_token does not match", code="bad_verify_token")
    challenge = query.get("hub.challenge")
    if not challenge:
        raise BadRequest("hub.challenge is missing", code="missing_challenge")
    return challenge


def e164(wa_id: str) -> str:
    """The customer's number in E.164 (``+972501234567``) from a WhatsApp id or ``from`` (digits)."""
    digits = wa_id.strip().removeprefix("+")
    if not _DIGITS.fullmatch(digits):
        raise Unusable("malformed message: from is not a phone number")
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as err:
        raise Unusable("malformed message: from is not a phone number") from err
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _timestamp(value: Any, fallback: datetime) -> datetime:
    """Meta's ``timestamp``: Unix seconds as a string (sometimes a number)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return fallback
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return fallback


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """Everything one webhook POST carried."""

    messages: tuple[InboundMessage, ...] = ()
    updates: tuple[DeliveryUpdate, ...] = ()
    kept: tuple[KeptAside, ...] = ()


@dataclass(slots=True)
class _Batch:
    body: bytes
    default_account: str
    received_at: datetime
    messages: list[InboundMessage] = field(default_factory=list)
    updates: list[DeliveryUpdate] = field(default_factory=list)
    kept: list[KeptAside] = field(default_factory=list)

    def keep(self, reason: str, account: str | None = None, provider_id: str | None = None) -> None:
        self.kept.append(
            KeptAside(
                channel=NAME,
                account=account or self.default_account,
                reason=reason,
                body=self.body,
                content_type="application/json",
                received_at=self.received_at,
                provider_id=provider_id,
            )
        )

    def result(self) -> ParsedWebhook:
        return ParsedWebhook(tuple(self.messages), tuple(self.updates), tuple(self.kept))


def parse_webhook(body: bytes, *, default_account: str, received_at: datetime) -> ParsedWebhook:
    """Turn a verified webhook body into messages, delivery updates and items kept aside.

    ``default_account`` names the account of what carries no ``metadata.phone_number_id``.
    """
    batch = _Batch(body, default_account, received_at)
    try:
        data = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        batch.keep("malformed: body is not JSON")
        return batch.result()
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        batch.keep("malformed: no entry list")
    elif data.get("object") != WEBHOOK_OBJECT:
        batch.keep(f"unsupported object: {data.get('object')}")
    else:
        for entry in data["entry"]:
            changes = as_dict(entry).get("changes")
            if not isinstance(changes, list) or not changes:
                batch.keep("malformed: entry without changes", provider_id=as_id(as_dict(entry).get("id")))
            for change in as_list(changes):
                _read_change(batch, as_dict(change))
    return batch.result()


def _read_change(batch: _Batch, change: dict[str, Any]) -> None:
    value = as_dict(change.get("value"))
    metadata = as_dict(value.get("metadata"))
    account = as_id(metadata.get("phone_number_id"))
    kind = change.get("field")
    if kind != MESSAGES_FIELD:
        # Template reviews, marketing preferences, account updates...: not conversations (yet).
        batch.keep(f"unsupported field: {kind}", account, as_id(value.get("message_template_id")))
        return
    messages, statuses = as_list(value.get("messages")), as_list(value.get("statuses"))
    if not messages and not statuses:
        errors = [as_dict(e) for e in as_list(value.get("errors"))]
        reason = (
            f"provider error: {errors[0].get('code')}" if errors else "malformed: change without messages"
        )
        batch.keep(reason, account)
        return
    if account is None:
        batch.keep("malformed: change without metadata.phone_number_id")
        return
    names = {
        as_str(c.get("wa_id")): as_str(as_dict(c.get("profile")).get("name"))
        for c in (as_dict(c) for c in as_list(value.get("contacts")))
    }
    for message in messages:
        _read_message(batch, as_dict(message), account, names, metadata)
    for status in statuses:
        _read_status(batch, as_dict(status), account)


def _read_message(
    batch: _Batch,
    message: dict[str, Any],
    account: str,
    names: Mapping[str | None, str | None],
    metadata: Mapping[str, Any],
) -> None:
    provider_id = as_id(message.get("id"))
    try:
        batch.messages.append(_inbound(message, account, names, metadata, batch.received_at))
    except Unusable as refused:
        batch.keep(refused.reason, account, provider_id)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        # A shape no rule above foresaw: keep it aside rather than lose the rest of the batch.
        batch.keep(f"malformed message: {type(err).__name__}", account, provider_id)


def _inbound(
    message: dict[str, Any],
    account: str,
    names: Mapping[str | None, str | None],
    metadata: Mapping[str, Any],
    received_at: datetime,
) -> InboundMessage:
    wamid = as_id(message.get("id"))
    if wamid is None:
        raise Unusable("malformed message: missing id")
    sender = as_str(message.get("from"))
    if not sender:
        # Meta's username rollout may deliver a business-scoped user id without a number.
        has_user_id = bool(message.get("from_user_id"))
        raise Unusable(
            "unsupported sender: no phone number" if has_user_id else "malformed message: missing from"
        )
    phone = e164(sender)
    content = message_content(message)
    display_name = names.get(sender) or (next(iter(names.values())) if len(names) == 1 else None)
    context = as_dict(message.get("context"))
    return InboundMessage(
        identity=ExternalIdentity(NAME, account, phone),
        external_message_id=wamid,
        thread_key=phone,
        kind=content.kind,
        received_at=_timestamp(message.get("timestamp"), received_at),
        text=content.text,
        attachments=content.attachments,
        sender_hints=SenderHints(display_name=display_name, phone=phone, verified=True),
        raw={
            "message": message,
            "metadata": dict(metadata),
            "profile_name": display_name,
            "forwarded": bool(context.get("forwarded") or context.get("frequently_forwarded")),
        },
        # The wamid this message answers (a reply, a quick-reply button, a reaction, an edit).
        reply_to_external_id=as_id(context.get("id"))
        or as_id(as_dict(message.get("reaction")).get("message_id"))
        or as_id(as_dict(message.get(str(message.get("type")))).get("original_message_id")),
    )


def _read_status(batch: _Batch, status: dict[str, Any], account: str) -> None:
    wamid = as_id(status.get("id"))
    if wamid is None:
        batch.keep("malformed status: missing id", account)
        return
    name = status.get("status")
    mapped = _STATUSES.get(name) if isinstance(name, str) else None
    if mapped is None:
        batch.keep(f"unsupported status: {name}", account, wamid)
        return
    batch.updates.append(
        DeliveryUpdate(
            channel=NAME,
            external_message_id=wamid,
            status=mapped,
            occurred_at=_timestamp(status.get("timestamp"), batch.received_at),
            error=status_error(status.get("errors")),
        )
    )


def status_error(errors: Any) -> str | None:
    """``"<code>: <title> — <details>"`` for each of a status's errors, or None when it has none."""
    lines = []
    for error in (as_dict(e) for e in as_list(errors)):
        parts: list[str] = []
        for text in (
            as_str(error.get("title")),
            as_str(error.get("message")),
            as_str(as_dict(error.get("error_data")).get("details")),
        ):
            if text and text not in parts:
                parts.append(text)
        lines.append(f"{error.get('code')}: " + " — ".join(parts))
    return "; ".join(lines) or None
