"""Pure parsing and signing for the API channel: bytes in, normalized types out, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from channels.api.const import (
    MAX_ATTACHMENTS,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    NAME,
    SIGNATURE_PREFIX,
)
from hub.errors import BadRequest, Unauthorized
from hub.messages import Attachment, ExternalIdentity, InboundKind, InboundMessage, SenderHints

__all__ = ["parse_message", "sign", "verify_signature"]


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise Unauthorized unless ``header`` is the signature of ``body``."""
    if not header:
        raise Unauthorized("missing signature header", code="missing_signature")
    if not hmac.compare_digest(sign(secret, body).encode(), header.strip().encode()):
        raise Unauthorized("signature does not match the body", code="bad_signature")


def _optional_string(data: dict[str, Any], key: str, where: str, *, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{where}{key} must be a string", code="invalid_field")
    if len(value) > limit:
        raise BadRequest(f"{where}{key} is longer than {limit} characters", code="invalid_field")
    return value


def _required_string(data: dict[str, Any], key: str, where: str, *, limit: int) -> str:
    value = _optional_string(data, key, where, limit=limit)
    if value is None:
        raise BadRequest(f"{where}{key} is required", code="missing_field")
    if not value.strip():
        raise BadRequest(f"{where}{key} must not be empty", code="invalid_field")
    return value


def _sent_at(data: dict[str, Any], received_at: datetime) -> datetime:
    value = data.get("sent_at")
    if value is None:
        return received_at
    if not isinstance(value, str):
        raise BadRequest("sent_at must be an ISO 8601 string", code="invalid_field")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise BadRequest(f"sent_at is not ISO 8601: {value!r}", code="invalid_field") from err
    if parsed.tzinfo is None:
        raise BadRequest("sent_at must include a time zone offset", code="invalid_field")
    return parsed


def _attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    items = data.get("attachments")
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > MAX_ATTACHMENTS:
        raise BadRequest(f"attachments must be a list of at most {MAX_ATTACHMENTS}", code="invalid_field")
    out = []
    for index, item in enumerate(items):
        where = f"attachments[{index}]."
        if not isinstance(item, dict):
            raise BadRequest(f"attachments[{index}] must be an object", code="invalid_field")
        url = _required_string(item, "url", where, limit=2048)
        content_type = _optional_string(item, "content_type", where, limit=200)
        filename = _optional_string(item, "filename", where, limit=300)
        out.append(Attachment(content_type or "application/octet-stream", url=url, filename=filename))
    return tuple(out)


def _body_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(f"body is not valid JSON: {err}", code="malformed_json") from err
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", code="malformed_json")
    return data


def parse_message(body: bytes, *, account: str, received_at: datetime) -> InboundMessage:
    """Turn a verified request body into an InboundMessage, or raise BadRequest naming the problem."""
    data = _body_object(body)
    message_id = _required_string(data, "message_id", "", limit=MAX_ID_LENGTH)
    sender = data.get("sender")
    if sender is None:
        raise BadRequest("sender is required", code="missing_field")
    if not isinstance(sender, dict):
        raise BadRequest("sender must be an object", code="invalid_field")
    sender_id = _required_string(sender, "id", "sender.", limit=MAX_ID_LENGTH)
    attachments = _attachments(data)
    # A message may be attachments alone; otherwise it needs text.
    text = (
        _optional_string(data, "text", "", limit=MAX_TEXT_LENGTH)
        if attachments
        else _required_string(data, "text", "", limit=MAX_TEXT_LENGTH)
    )
    return InboundMessage(
        identity=ExternalIdentity(NAME, account, sender_id),
        external_message_id=message_id,
        thread_key=sender_id,
        kind=InboundKind.MEDIA if attachments and not text else InboundKind.TEXT,
        received_at=_sent_at(data, received_at),
        text=text,
        attachments=attachments,
        sender_hints=SenderHints(
            display_name=_optional_string(sender, "name", "sender.", limit=200),
            email=_optional_string(sender, "email", "sender.", limit=320),
            phone=_optional_string(sender, "phone", "sender.", limit=40),
        ),
        raw=data,
    )
