"""Pure rules of sending: OutboundMessage to Graph ``/messages`` bodies, and Graph errors to ours.

Bodies: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
Errors: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from channels.whatsapp_cloud.const import (
    CAPTION_LIMIT,
    CAPTION_TYPES,
    RATE_LIMIT_CODES,
    REENGAGEMENT_CODE,
    UNAVAILABLE_CODES,
)
from channels.whatsapp_cloud.content import as_dict, as_list, as_str
from hub.errors import OutsideServiceWindow, PermanentSendError, SwitchboardError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage

__all__ = ["graph_error", "graph_recipient", "message_payloads", "retry_after_seconds", "template_payload"]

_DIGITS = re.compile(r"[0-9]+")


def graph_recipient(recipient: ExternalIdentity) -> tuple[str, str]:
    """``(phone_number_id, to)``: our number the customer wrote to, and theirs without the ``+``."""
    to = recipient.external_id.strip().removeprefix("+")
    if not _DIGITS.fullmatch(to):
        raise PermanentSendError(f"recipient {recipient.external_id!r} is not a phone number")
    if not _DIGITS.fullmatch(recipient.account):
        raise PermanentSendError(f"account {recipient.account!r} is not a WhatsApp phone number id")
    return recipient.account, to


def _envelope(to: str, kind: str, content: dict[str, Any], reply_to: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0].strip().lower()
    return major if major in ("image", "video", "audio") else "document"


def _media(attachment: Attachment, caption: str | None) -> tuple[str, dict[str, Any]]:
    kind = _media_kind(attachment.content_type)
    if attachment.url:
        media: dict[str, Any] = {"link": attachment.url}
    elif attachment.media_id:
        media = {"id": attachment.media_id}
    else:
        raise PermanentSendError("an attachment without url or media id cannot be sent (no upload yet)")
    if caption:
        media["caption"] = caption
    if kind == "document" and attachment.filename:
        media["filename"] = attachment.filename
    return kind, media


def message_payloads(message: OutboundMessage, to: str) -> list[dict[str, Any]]:
    """The Graph bodies for one reply, in sending order: a template alone, or text and media.

    The text rides as the first attachment's caption where WhatsApp allows one; otherwise it goes first,
    as its own message. Only the first part answers ``reply_to_external_id``.
    """
    if message.template is not None:
        return [_envelope(to, "template", template_payload(message.template), message.reply_to_external_id)]
    text = message.text or None
    attachments = message.attachments
    if not attachments:
        if text is None:
            raise PermanentSendError("nothing to send: no text, template or attachment")
        return [_envelope(to, "text", {"preview_url": False, "body": text}, message.reply_to_external_id)]
    as_caption = (
        text is not None
        and _media_kind(attachments[0].content_type) in CAPTION_TYPES
        and len(text) <= CAPTION_LIMIT
    )
    parts: list[tuple[str, dict[str, Any]]] = []
    if text is not None and not as_caption:
        parts.append(("text", {"preview_url": False, "body": text}))
    for index, attachment in enumerate(attachments):
        parts.append(_media(attachment, text if as_caption and index == 0 else None))
    return [
        _envelope(to, kind, content, message.reply_to_external_id if index == 0 else None)
        for index, (kind, content) in enumerate(parts)
    ]


def _parameters(values: Any) -> list[dict[str, Any]]:
    """Body parameters: a list (positional ``{{1}}``) or a mapping (named ``{{first_name}}``)."""
    if isinstance(values, Mapping):
        return [{"type": "text", "parameter_name": str(k), "text": str(v)} for k, v in values.items()]
    if isinstance(values, Sequence) and not isinstance(values, str):
        # A ready Graph parameter object (currency, date_time, image...) passes through untouched.
        return [dict(v) if isinstance(v, Mapping) else {"type": "text", "text": str(v)} for v in values]
    raise PermanentSendError("template parameters must be a list or an object", code="bad_template")


def template_payload(template: Mapping[str, Any]) -> dict[str, Any]:
    """Graph's ``template`` object from ``{"name", "language", "parameters"?, "components"?}``."""
    name, language = template.get("name"), template.get("language")
    if not isinstance(name, str) or not name:
        raise PermanentSendError("a template needs a name", code="bad_template")
    if isinstance(language, str) and language:
        language = {"code": language}
    if not isinstance(language, Mapping) or not language.get("code"):
        raise PermanentSendError("a template needs a language code, like en_US", code="bad_template")
    components = template.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, Mapping) for c in components):
        raise PermanentSendError("template components must be a list of objects", code="bad_template")
    components = [dict(c) for c in components]
    parameters = template.get("parameters")
    if parameters:
        if any(c.get("type") == "body" for c in components):
            raise PermanentSendError(
                "give template parameters or a body component, not both", code="bad_template"
            )
        components.append({"type": "body", "parameters": _parameters(parameters)})
    payload: dict[str, Any] = {"name": name, "language": dict(language)}
    if components:
        payload["components"] = components
    return payload


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``Retry-After`` or Graph's ``X-Business-Use-Case-Usage`` (in minutes)."""
    value = headers.get("Retry-After", "").strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    # https://developers.facebook.com/docs/graph-api/overview/rate-limiting#headers-2
    try:
        usage = json.loads(headers.get("X-Business-Use-Case-Usage", "") or "null")
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in as_dict(usage).values()
        for entry in (as_dict(e) for e in as_list(entries))
    ]
    waits = [m for m in minutes if isinstance(m, (int, float)) and not isinstance(m, bool) and m > 0]
    return float(max(waits)) * 60 if waits else None


def graph_error(status: int, payload: Any, headers: Mapping[str, str]) -> SwitchboardError:
    """Our error for a refused Graph call: Temporary, OutsideServiceWindow or Permanent."""
    error = as_dict(as_dict(payload).get("error"))
    code = error.get("code") if isinstance(error.get("code"), int) else None
    details = as_str(as_dict(error.get("error_data")).get("details"))
    detail = f"Graph API answered {status}"
    if code is not None:
        detail += f": ({code}) {as_str(error.get('message')) or ''}".rstrip()
    if details:
        detail += f" — {details}"
    provider_code = str(code) if code is not None else None
    if code == REENGAGEMENT_CODE:
        return OutsideServiceWindow(detail, provider_code=provider_code)
    if status == 429 or code in RATE_LIMIT_CODES:
        return TemporarySendError(
            detail, retry_after=retry_after_seconds(headers), provider_code=provider_code
        )
    if status >= 500 or code in UNAVAILABLE_CODES:
        return TemporarySendError(
            detail, retry_after=retry_after_seconds(headers), provider_code=provider_code
        )
    return PermanentSendError(detail, provider_code=provider_code)
