"""The MIME tree of a message: its text and HTML bodies and its attachments (inline images too). Pure.

multipart/alternative, related, mixed and report are walked; attached messages (``message/rfc822``) are
kept whole as attachments, never searched for a body.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message

from channels.email.decode import Decoded, decode_bytes
from channels.email.htmlbody import html_charset
from hub.messages import Attachment

__all__ = ["Body", "extract_body"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Alternatives of a chosen body are the same text again; a calendar invitation is not.
_KEEP_ALTERNATIVES = frozenset({"text/calendar"})


@dataclass(frozen=True, slots=True)
class Body:
    """A message's readable content."""

    text: str
    """The plain-text body (from text/plain, else ""), untrimmed."""
    html: str | None
    """The HTML body as sent (unsanitized), when there is one."""
    charset: str | None
    """The charset the body turned out to be in: the best guess for raw 8-bit headers."""
    attachments: tuple[Attachment, ...]


def _leaves(part: Message, parent: Message | None = None) -> Iterator[tuple[Message, Message | None]]:
    """Every non-multipart part with its container; attached messages are leaves."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _leaves(child, part)
    else:
        yield part, parent


def _decoded_text(part: Message, hint: str | None) -> Decoded:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return Decoded("", None)
    declared = part.get_content_charset()
    if declared is None and part.get_content_subtype() == "html":
        declared = html_charset(data)
    return decode_bytes(data, declared, hint=hint)


def _part_bytes(part: Message) -> bytes:
    """The content of a leaf: transfer-decoded bytes, or an attached message as bytes."""
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        if isinstance(payload, list):
            return b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(part: Message, hint: str | None) -> str | None:
    """The part's file name (RFC 2231/2047 decoded, raw 8-bit recovered), without any directory."""
    name = part.get_filename()
    if not name:
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = decode_bytes(name.encode("utf-8", "surrogateescape"), None, hint=hint).text
    name = _CONTROL.sub("", posixpath.basename(name.replace("\\", "/"))).strip()
    return name or None


def _attachment(part: Message, hint: str | None) -> Attachment:
    content = _part_bytes(part)
    content_id = str(part.get("Content-ID") or "").strip().strip("<>") or None
    filename = _filename(part, hint)
    if filename is None and part.get_content_maintype() == "message":
        filename = "attached.eml" if part.get_content_type() == "message/rfc822" else None
    return Attachment(
        content_type=part.get_content_type(),
        filename=filename,
        size=len(content),
        media_id=content_id,
        content=content,
    )


def _is_other_rendition(part: Message, parent: Message | None) -> bool:
    attached = isinstance(part, EmailMessage) and part.is_attachment()
    return (
        parent is not None
        and parent.get_content_type() == "multipart/alternative"
        and part.get_content_maintype() == "text"
        and part.get_content_type() not in _KEEP_ALTERNATIVES
        and not attached
    )


def extract_body(message: EmailMessage) -> Body:
    """Text, HTML and attachments of a parsed message (``policy.default``)."""
    plain = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    text = _decoded_text(plain, None) if plain is not None else Decoded("", None)
    hint = text.charset
    html = _decoded_text(html_part, hint) if html_part is not None else None
    hint = hint or (html.charset if html is not None else None)
    chosen = {id(p) for p in (plain, html_part) if p is not None}
    attachments = tuple(
        _attachment(part, hint)
        for part, parent in _leaves(message)
        if id(part) not in chosen and not _is_other_rendition(part, parent)
    )
    return Body(
        text=text.text,
        html=html.text if html is not None else None,
        charset=hint,
        attachments=attachments,
    )
