"""A raw message (bytes, as received) into an InboundMessage and what it reports. Pure: no I/O.

Parsed with the standard library (``BytesParser``, ``policy.default``); text decoding in ``decode.py``,
the MIME walk in ``body.py``, HTML in ``htmlbody.py``, quoted history in ``quotes.py``, machine mail in
``machine.py``. Threading follows RFC 5322 §3.6.4 (see shared PROVIDERS.md, "Email").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from channels.email.body import Body, extract_body
from channels.email.const import HASH_ID_SUFFIX, MACHINE_BOUNCE, NAME, ORIGINAL_FILENAME, RAW_CONTENT_TYPE
from channels.email.decode import header_addresses, header_text, message_ids, raw_header
from channels.email.htmlbody import html_to_text, sanitize_html
from channels.email.machine import classify, read_report
from channels.email.quotes import trim_quoted
from hub.messages import (
    Attachment,
    DeliveryUpdate,
    ExternalIdentity,
    InboundKind,
    InboundMessage,
    SenderHints,
)

__all__ = ["ParsedEmail", "Unparseable", "hashed_id", "parse_email", "provider_id"]

_PARSER = BytesParser(policy=policy.default)


class Unparseable(Exception):
    """Mail that is not something we store; ``reason`` is short and stable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """One received message, and the delivery report it carries about a message we sent (if any)."""

    message: InboundMessage
    report: DeliveryUpdate | None = None


def hashed_id(raw: bytes) -> str:
    """The id of a message without a Message-ID: stable for the same bytes, so a redelivery dedups."""
    return hashlib.sha256(raw).hexdigest()[:40] + HASH_ID_SUFFIX


def provider_id(raw: bytes) -> str | None:
    """The Message-ID of raw mail, best effort (for keeping unparseable mail aside)."""
    try:
        ids = message_ids(raw_header(_PARSER.parsebytes(raw, headersonly=True), "Message-ID"))
    except Exception:  # noqa: BLE001  (any parser failure: the id is only a label here)
        return None
    return ids[0] if ids else None


def _sender(message: Message, hint: str | None) -> Address:
    for name in ("From", "Sender"):
        for address in header_addresses(message, name, hint=hint):
            if address.username and address.domain:
                return address
    raise Unparseable("no sender address")


def _threading(message: Message, own_id: str) -> tuple[str, tuple[str, ...], str | None]:
    """``(thread_key, references nearest first, in_reply_to)``."""
    in_reply_to = message_ids(raw_header(message, "In-Reply-To"))
    references = message_ids(raw_header(message, "References"))
    nearest = tuple(i for i in dict.fromkeys((*in_reply_to, *reversed(references))) if i != own_id)
    root = references[0] if references else (in_reply_to[0] if in_reply_to else own_id)
    return root, nearest, in_reply_to[0] if in_reply_to else None


def _sent_at(message: Message) -> str | None:
    value = raw_header(message, "Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).isoformat()


def _texts(body: Body, machine: str | None) -> tuple[str, str]:
    """``(full text, stored text)``: the stored one without quoted history (reports are kept whole)."""
    if body.text.strip():
        full = body.text.replace("\r\n", "\n").strip()
        return full, full if machine else trim_quoted(full)
    if body.html is not None:
        full = html_to_text(body.html, trim_quotes=False)
        if machine:
            return full, full
        return full, trim_quoted(html_to_text(body.html, trim_quotes=True) or full)
    return "", ""


def _addresses(message: Message, name: str, hint: str | None) -> list[str]:
    return [a.addr_spec.lower() for a in header_addresses(message, name, hint=hint) if a.domain]


def _details(message: Message, body: Body, machine: str | None, hint: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if body.html is not None and (html := sanitize_html(body.html)):
        details["html"] = html
    if machine is not None:
        details["machine"] = machine
    if (sent_at := _sent_at(message)) is not None:
        details["sent_at"] = sent_at
    for name, key in (("To", "to"), ("Cc", "cc"), ("Reply-To", "reply_to")):
        if found := _addresses(message, name, hint):
            details[key] = found
    return details


def parse_email(raw: bytes, *, account: str, received_at: datetime) -> ParsedEmail:
    """Turn raw mail received for our mailbox ``account`` into an InboundMessage, or raise Unparseable."""
    if not raw.strip():
        raise Unparseable("empty message")
    message = _PARSER.parsebytes(raw)
    if not message.keys():
        raise Unparseable("malformed: no headers")
    body = extract_body(message)
    hint = body.charset
    sender = _sender(message, hint)
    address = sender.addr_spec.lower()
    if address == account.lower():
        raise Unparseable("sent from our own address")
    own_ids = message_ids(raw_header(message, "Message-ID"))
    own_id = own_ids[0] if own_ids else hashed_id(raw)
    thread_key, references, in_reply_to = _threading(message, own_id)
    machine = classify(message)
    full_text, text = _texts(body, machine)
    report = read_report(message, machine, full_text)
    if report is not None:
        # The report joins the conversation of the message it is about (and marks that message).
        references = tuple(dict.fromkeys((report.original_id, *references)))
    original = Attachment(RAW_CONTENT_TYPE, filename=ORIGINAL_FILENAME, size=len(raw), content=raw)
    subject = header_text(message, "Subject", hint=hint) or None
    kind = InboundKind.TEXT if text or not body.attachments else InboundKind.MEDIA
    identity = ExternalIdentity(NAME, account.lower(), address)
    hints = SenderHints(display_name=sender.display_name or None, email=address)
    if report is not None and report.recipient and machine == MACHINE_BOUNCE:
        # A bounce is about the customer our mail did not reach: it is an event of their conversation
        # (joined through the reference to our message), not a message from a "Mail Delivery System" contact.
        identity = ExternalIdentity(NAME, account.lower(), report.recipient)
        kind, hints = InboundKind.EVENT, SenderHints()
    inbound = InboundMessage(
        identity=identity,
        external_message_id=own_id,
        thread_key=thread_key,
        kind=kind,
        received_at=received_at,
        text=text or None,
        attachments=(*body.attachments, original),
        sender_hints=hints,
        raw={"message_id": own_id, "from": address, "subject": subject, "in_reply_to": in_reply_to},
        reply_to_external_id=in_reply_to,
        references=references,
        subject=subject,
        details=_details(message, body, machine, hint),
    )
    update = None
    if report is not None:
        update = DeliveryUpdate(NAME, report.original_id, report.status, received_at, error=report.error)
    return ParsedEmail(inbound, update)
