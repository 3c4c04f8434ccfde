"""Building raw mail for the email channel's tests, byte by byte (charsets and headers exactly as sent)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import Header

from channels.email.parse import ParsedEmail, parse_email

OURS = "support@hub.example"
CUSTOMER = "dana@example.co.il"

HEBREW = "שלום, יש לי בעיה עם החשבונית האחרונה שקיבלתי. הסכום גבוה מהרגיל ואני לא מבין למה."
ARABIC = "مرحبا، لدي مشكلة في الفاتورة الأخيرة التي استلمتها. المبلغ أعلى من المعتاد ولا أفهم السبب."
# Persian as windows-1256 carries it: Arabic yeh (ي) and kaf (ك), which that code page has.
PERSIAN = "سلام، من با صورتحساب آخر مشكل دارم. مبلغ بيشتر از هميشه است و نمي دانم چرا. لطفا كمك كنيد."


def encoded_word(text: str, charset: str) -> str:
    """``text`` as RFC 2047 encoded words in ``charset``."""
    return Header(text, charset).encode()


def mail(
    body: bytes | str = b"Hello",
    *,
    headers: dict[str, str | bytes] | None = None,
    content_type: str | None = "text/plain; charset=utf-8",
    cte: str | None = None,
    sender: str | bytes = f"Dana <{CUSTOMER}>",
    subject: str | bytes | None = "Help",
    message_id: str | None = "<m1@example.co.il>",
) -> bytes:
    """A single-part message; header values given as bytes go on the wire as they are (raw 8-bit)."""
    fields: dict[str, str | bytes] = {"From": sender, "To": OURS}
    if subject is not None:
        fields["Subject"] = subject
    if message_id is not None:
        fields["Message-ID"] = message_id
    fields["Date"] = "Tue, 05 Mar 2024 10:00:00 +0200"
    fields["MIME-Version"] = "1.0"
    if content_type is not None:
        fields["Content-Type"] = content_type
    if cte is not None:
        fields["Content-Transfer-Encoding"] = cte
    fields.update(headers or {})
    lines = [k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) for k, v in fields.items()]
    data = body.encode() if isinstance(body, str) else body
    return b"\r\n".join(lines) + b"\r\n\r\n" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def multipart(
    subtype: str,
    parts: list[bytes],
    *,
    headers: dict[str, str | bytes] | None = None,
    params: str = "",
    boundary: str = "b-1",
) -> bytes:
    """A multipart message whose parts are given raw (headers, blank line, body)."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    content_type = f'multipart/{subtype}; boundary="{boundary}"{params}'
    return mail(body, headers=headers, content_type=content_type)


def part(body: bytes | str, content_type: str, **headers: str) -> bytes:
    """One MIME part: ``Content-Type`` and the given headers (``Content_ID`` for ``Content-ID``)."""
    lines = [f"Content-Type: {content_type}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    data = body.encode() if isinstance(body, str) else body
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + data


def parse(raw: bytes) -> ParsedEmail:
    """Parse as the channel does for our mailbox."""
    return parse_email(raw, account=OURS, received_at=datetime(2024, 3, 5, 8, 0, tzinfo=UTC))
