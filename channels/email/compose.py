"""Our outgoing mail: threading headers the customer's client keeps the thread by. Pure.

RFC 5322 §3.6.4: ``Message-ID`` on every message; a reply's ``In-Reply-To`` names the message answered and
its ``References`` the thread's ids, oldest first, ending with that one. Our Message-ID carries the
interaction id, so a reply to it is ours to thread even if nothing else matches.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from channels.email.const import REFERENCES_KEEP, REPLY_PREFIX
from hub.errors import PermanentSendError
from hub.messages import OutboundMessage

__all__ = ["compose_reply", "message_id_for", "reply_subject"]

# 7-bit transfer encodings: any relay takes it, 8BITMIME or not.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_REPLY_PREFIXES = re.compile(r"^\s*(?:re|aw|sv|vs|antw|r|ref|תשובה|رد|پاسخ)\s*:", re.IGNORECASE)
_ID_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def message_id_for(message: OutboundMessage, domain: str) -> str:
    """Our Message-ID (without brackets): the interaction's id and a token of its idempotency key.

    The same send retried gets the same id, so a mail that did go out the first time is one message to
    the customer's client, and the hub matches its report either way.
    """
    token = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:16]
    return f"sb.{_ID_SAFE.sub('-', message.interaction_id)}.{token}@{domain}"


def reply_subject(subject: str | None) -> str | None:
    """``Re: <subject>``, without piling up prefixes."""
    if subject is None or not subject.strip():
        return None
    subject = " ".join(subject.split())
    return subject if _REPLY_PREFIXES.match(subject) else REPLY_PREFIX + subject


def _references(message: OutboundMessage, in_reply_to: str | None) -> list[str]:
    ids = list(dict.fromkeys(i for i in message.references if i))
    if in_reply_to is not None and (not ids or ids[-1] != in_reply_to):
        ids = [i for i in ids if i != in_reply_to] + [in_reply_to]
    if len(ids) > REFERENCES_KEEP:
        ids = [ids[0], *ids[-(REFERENCES_KEEP - 1) :]]  # keep the root and the latest
    return ids


def _recipient(message: OutboundMessage) -> Address:
    address = message.recipient.external_id
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise PermanentSendError(f"not an email address: {address!r}", code="bad_recipient")
    return Address(addr_spec=address)


def _text_with_links(message: OutboundMessage) -> str:
    """The text, with a link to every file we only hold by URL (mail carries files inline or not at all)."""
    links = [
        f"{a.filename or a.content_type}: {a.url}" for a in message.attachments if a.content is None and a.url
    ]
    text = message.text or ""
    return "\n\n".join(part for part in (text, "\n".join(links)) if part) + "\n"


def compose_reply(
    message: OutboundMessage, *, from_address: str, domain: str, now: datetime
) -> tuple[EmailMessage, str]:
    """The email for an outgoing message, and its Message-ID (without brackets)."""
    if message.template is not None:
        raise PermanentSendError("email has no templates", code="unsupported_template")
    mail = EmailMessage(policy=_POLICY)
    message_id = message_id_for(message, domain)
    mail["From"] = Address(display_name=message.author_name or "", addr_spec=from_address)
    mail["To"] = _recipient(message)
    if (subject := reply_subject(message.subject)) is not None:
        mail["Subject"] = subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{message_id}>"
    in_reply_to = message.reply_to_external_id or (message.references[-1] if message.references else None)
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references := _references(message, in_reply_to):
        mail["References"] = " ".join(f"<{i}>" for i in references)
    if message.automatic:
        # RFC 3834: the bot's answers and system notices say so, so that other robots do not answer them.
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(_text_with_links(message), charset="utf-8")
    for attachment in message.attachments:
        if attachment.content is None:
            continue  # linked in the text instead
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return mail, message_id
