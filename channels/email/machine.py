"""Machine mail: bounces, delivery and read reports, complaints, auto-replies, list traffic. Pure.

Detection follows shared PROVIDERS.md ("Auto-reply / machine mail detection"): RFC 3834 ``Auto-Submitted``,
RFC 6522 ``multipart/report`` (RFC 3464 DSNs, RFC 8098 MDNs, RFC 5965 ARF complaints), Gmail's
``X-Failed-Recipients``, ``X-Autoreply``/``X-Autorespond``, Microsoft's ``X-Auto-Response-Suppress``,
``Precedence``, RFC 2919 ``List-Id`` / RFC 2369 ``List-Unsubscribe``, the null ``Return-Path: <>`` and
MAILER-DAEMON/postmaster senders. A report names the message it is about in an attached
``message/rfc822`` or ``text/rfc822-headers`` part, an MDN in ``Original-Message-ID``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from channels.email.const import (
    MACHINE_AUTO_GENERATED,
    MACHINE_AUTO_REPLY,
    MACHINE_BOUNCE,
    MACHINE_BULK,
    MACHINE_COMPLAINT,
    MACHINE_DELIVERY_REPORT,
    MACHINE_LIST,
    MACHINE_LOCAL_PARTS,
    MACHINE_READ_REPORT,
)
from channels.email.decode import message_ids, raw_header
from hub.messages import DeliveryStatus

__all__ = ["Report", "classify", "read_report"]

_EMBEDDED_ID = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ERROR_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Report:
    """What a report says about a message we (may have) sent."""

    original_id: str
    status: DeliveryStatus
    error: str | None
    recipient: str | None = None
    """Whom the report is about (a DSN's ``Final-Recipient``, ``X-Failed-Recipients``), lower-case."""


def _header(message: Message, name: str) -> str:
    return (raw_header(message, name) or "").strip()


def _report_type(message: Message) -> str | None:
    if message.get_content_type() != "multipart/report":
        return None
    return str(message.get_param("report-type") or "").lower() or None


def _sender_is_machine(message: Message) -> bool:
    for name in ("From", "Sender"):
        value = _header(message, name).lower()
        for local in MACHINE_LOCAL_PARTS:
            if re.search(rf"(^|[\s<\"]){re.escape(local)}(@|>|\s|$)", value):
                return True
    return False


def _report_kind(message: Message) -> str | None:
    report_type = _report_type(message)
    if report_type == "delivery-status":
        actions = {block.get("Action", "").strip().lower() for block in _status_blocks(message)}
        if not actions or "failed" in actions:
            return MACHINE_BOUNCE
        return MACHINE_DELIVERY_REPORT
    if report_type == "disposition-notification":
        return MACHINE_READ_REPORT
    if report_type == "feedback-report":
        return MACHINE_COMPLAINT
    if report_type is not None:
        return MACHINE_AUTO_GENERATED
    return None


def classify(message: Message) -> str | None:
    """The kind of machine mail this is (``details["machine"]``), or None for mail a person wrote."""
    if (kind := _report_kind(message)) is not None:
        return kind
    if _header(message, "X-Failed-Recipients"):
        return MACHINE_BOUNCE  # Gmail's bounces carry nothing else
    if _sender_is_machine(message):
        return MACHINE_BOUNCE
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return MACHINE_AUTO_REPLY if auto_submitted.startswith("auto-replied") else MACHINE_AUTO_GENERATED
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return MACHINE_AUTO_REPLY
    precedence = _header(message, "Precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        return MACHINE_AUTO_REPLY
    if precedence == "list" or _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return MACHINE_LIST
    if precedence in ("bulk", "junk"):
        return MACHINE_BULK
    suppress = {v.strip().lower() for v in _header(message, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        return MACHINE_AUTO_REPLY
    if _header(message, "Return-Path") == "<>":
        return MACHINE_AUTO_GENERATED
    return None


def _parts(message: Message) -> list[Message]:
    """Every part, descending into multiparts but not into attached messages."""
    found = [message]
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            if isinstance(part, Message):
                found.extend(_parts(part))
    return found


def _status_blocks(message: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of ``message/delivery-status`` parts."""
    blocks: list[Message] = []
    for part in _parts(message):
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks.extend(p for p in payload if isinstance(p, Message))
    return blocks


def _original_id(message: Message) -> str | None:
    """The Message-ID of the message a report is about."""
    for part in _parts(message):
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and (ids := message_ids(raw_header(inner, "Message-ID"))):
                return ids[0]
        elif content_type in ("text/rfc822-headers", "text/global-headers"):
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            if match := _EMBEDDED_ID.search(text):
                return match.group(1)[1:-1]
        elif content_type == "message/disposition-notification":
            for block in _mdn_blocks(part):
                if ids := message_ids(block.get("Original-Message-ID")):
                    return ids[0]
    if ids := message_ids(raw_header(message, "In-Reply-To")):
        return ids[0]  # Office 365 NDRs thread by In-Reply-To
    return None


def _mdn_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _displayed(message: Message) -> bool:
    for part in _parts(message):
        if part.get_content_type() == "message/disposition-notification":
            for block in _mdn_blocks(part):
                if "displayed" in str(block.get("Disposition", "")).lower():
                    return True
    return False


def _bounce_error(message: Message, fallback_text: str) -> str | None:
    for block in _status_blocks(message):
        if str(block.get("Action", "")).strip().lower() != "failed":
            continue
        detail = block.get("Diagnostic-Code") or block.get("Status")
        recipient = str(block.get("Final-Recipient") or "").split(";")[-1].strip()
        if detail:
            text = " ".join(str(detail).split())
            return (f"{recipient}: {text}" if recipient else text)[:_ERROR_LIMIT]
    failed = _header(message, "X-Failed-Recipients")
    summary = " ".join(fallback_text.split())
    if failed:
        return f"{failed}: {summary}"[:_ERROR_LIMIT] if summary else failed[:_ERROR_LIMIT]
    return summary[:_ERROR_LIMIT] or None


def _recipient(message: Message) -> str | None:
    """The address a delivery report is about: its first recipient block, else ``X-Failed-Recipients``."""
    for block in _status_blocks(message):
        for name in ("Final-Recipient", "Original-Recipient"):
            value = str(block.get(name) or "").split(";")[-1].strip().strip("<>").lower()
            if "@" in value:
                return value
    failed = _header(message, "X-Failed-Recipients").split(",")[0].strip().strip("<>").lower()
    return failed if "@" in failed else None


def _embedded_id_in_text(text: str) -> str | None:
    """A bounce without a report part (qmail and friends) quotes the original's headers in its text."""
    match = _EMBEDDED_ID.search(text)
    return match.group(1)[1:-1] if match else None


def read_report(message: Message, kind: str | None, text: str) -> Report | None:
    """What a bounce, delivery report or read report says about our message; None when it says nothing.

    ``text`` is the report's readable notification, used for the error when no DSN field gives one.
    """
    if kind not in (MACHINE_BOUNCE, MACHINE_DELIVERY_REPORT, MACHINE_READ_REPORT):
        return None
    original = _original_id(message) or (_embedded_id_in_text(text) if kind == MACHINE_BOUNCE else None)
    if original is None:
        return None
    if kind == MACHINE_BOUNCE:
        return Report(original, DeliveryStatus.FAILED, _bounce_error(message, text), _recipient(message))
    if kind == MACHINE_READ_REPORT:
        # RFC 8098 §3.2.6: only "displayed" says a person saw it ("deleted" says they did not).
        return Report(original, DeliveryStatus.READ, None) if _displayed(message) else None
    actions = {str(block.get("Action", "")).strip().lower() for block in _status_blocks(message)}
    if actions & {"delivered", "relayed", "expanded"}:
        return Report(original, DeliveryStatus.DELIVERED, None)
    return None  # "delayed": still on its way, nothing to record
