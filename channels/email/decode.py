"""Bytes to text for mail: declared charsets, undeclared 8-bit, raw 8-bit headers, RFC 2047. Pure.

Mail is parsed from bytes (``BytesParser`` with ``policy.default``); where the stdlib would turn 8-bit
bytes into U+FFFD (undeclared charsets, raw 8-bit headers), the bytes are recovered and decoded here:
the declared charset, else UTF-8, else a detector (charset-normalizer), the way RT and Zammad do.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import Message

from charset_normalizer import from_bytes

from channels.email.const import CHARSET_ALIASES, UNDECLARED_CHARSETS

__all__ = [
    "Decoded",
    "codec_for",
    "decode_bytes",
    "header_addresses",
    "header_text",
    "message_ids",
    "raw_header",
]

_FALLBACK = "windows-1252"
_MIN_DETECT_BYTES = 24
"""Shorter samples fool detectors (a Hebrew name comes out as Korean): below this, the hint decides."""
_LINE_BREAKS = re.compile(r"\r?\n")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text and the codec it was decoded with (None: pure ASCII, no charset needed)."""

    text: str
    charset: str | None


def codec_for(label: str | None) -> str | None:
    """Python's codec for a MIME charset label, None when undeclared or unknown."""
    name = (label or "").strip().strip('"').lower()
    if name in UNDECLARED_CHARSETS:
        return None
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return text.removeprefix("\ufeff")


def _detect(data: bytes, hint: str | None) -> Decoded:
    if hint is not None and (text := _strict(data, hint)) is not None:
        return Decoded(text, hint)
    if len(data) >= _MIN_DETECT_BYTES:
        best = from_bytes(data).best()
        if best is not None:
            return Decoded(str(best), codec_for(best.encoding) or best.encoding)
    return Decoded(data.decode(_FALLBACK, errors="replace"), _FALLBACK)


def decode_bytes(data: bytes, declared: str | None, *, hint: str | None = None) -> Decoded:
    """Decode ``data`` labelled ``declared``: the label if it fits, else UTF-8, else ``hint``, else guess.

    ``hint`` is a charset this message declared elsewhere (another part), tried before the detector.
    """
    codec = codec_for(declared)
    if codec is not None and (text := _strict(data, codec)) is not None:
        return Decoded(text, codec)
    if data.isascii():
        return Decoded(data.decode("ascii"), None)
    if (text := _strict(data, "utf-8")) is not None:
        return Decoded(text, "utf-8")
    # Mislabelled or undeclared 8-bit: the declared label is still the best hint when nothing else is.
    return _detect(data, hint or codec)


def raw_header(message: Message, name: str) -> str | None:
    """The first ``name`` header exactly as received (8-bit bytes as surrogates), unfolded."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _LINE_BREAKS.sub("", str(value))
    return None


def _recovered(value: str, hint: str | None) -> str:
    """A raw header value with its 8-bit bytes (surrogate-escaped by the parser) decoded properly."""
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        data = value.encode("ascii", "surrogateescape")
        return decode_bytes(data, None, hint=hint).text
    return value


def header_text(message: Message, name: str, *, hint: str | None = None) -> str | None:
    """A header as readable text: RFC 2047 words and raw 8-bit bytes decoded; None when absent."""
    value = raw_header(message, name)
    if value is None:
        return None
    header = policy.default.header_factory(name, _recovered(value, hint))
    return " ".join(str(header).split())


def header_addresses(message: Message, name: str, *, hint: str | None = None) -> tuple[Address, ...]:
    """The addresses of an address header (From, Sender, Reply-To), display names decoded."""
    value = raw_header(message, name)
    if value is None or not value.strip():
        return ()
    header = policy.default.header_factory(name, _recovered(value, hint))
    return tuple(getattr(header, "addresses", ()))


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ids of a Message-ID / In-Reply-To / References value, angle brackets stripped, in order.

    Ids without brackets (seen in the wild) are taken as whitespace-separated tokens.
    """
    if not value or not value.strip():
        return ()
    found = _MESSAGE_ID.findall(value)
    if not found:
        found = [token.strip("<>,;") for token in value.split()]
    return tuple(dict.fromkeys(i for i in found if i))
