"""IMAP commands and what their responses say (RFC 3501), for the poller in ``imap.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import aioimaplib  # type: ignore[import-untyped]

from hub.messages import utcnow

__all__ = [
    "FetchedMail",
    "ImapError",
    "batches",
    "fetch_literal",
    "fetch_sizes",
    "ok",
    "parse_internaldate",
    "search_uids",
    "since",
    "status_uidnext",
    "uidnext",
    "uidvalidity",
]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\bUIDNEXT (\d+)")
_FETCH_UID = re.compile(rb"\bUID (\d+)\b")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)\b")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
# RFC 3501 §9 date-text: the month names are English whatever the locale (so not strftime's %b).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapError(Exception):
    """The server refused a command."""


@dataclass(frozen=True, slots=True)
class FetchedMail:
    """One message read from the mailbox; ``internal_date`` is when the server received it (INTERNALDATE)."""

    uid: int
    raw: bytes
    internal_date: datetime | None


def ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    """The response; ImapError when the server refused the command."""
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")
        raise ImapError(f"{what} refused: {detail[:200]}")
    return response


def parse_internaldate(value: bytes | str) -> datetime | None:
    """RFC 3501 date-time (``"05-Mar-2024 12:34:56 +0000"``) as an aware datetime; None when unreadable."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    date, _, rest = text.strip().partition(" ")
    try:
        parsed = parsedate_to_datetime(f"{date.replace('-', ' ')} {rest}")
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.utcoffset() is not None else None


def since(days: int) -> str:
    """The SEARCH date ``days`` days back (SINCE compares dates only, RFC 3501 §6.4.4)."""
    day = (utcnow() - timedelta(days=days)).date()
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def uidvalidity(response: aioimaplib.Response) -> int:
    for line in response.lines:
        if match := _UIDVALIDITY.search(bytes(line)):
            return int(match.group(1))
    raise ImapError("SELECT answered no UIDVALIDITY")


def uidnext(response: aioimaplib.Response) -> int | None:
    """UIDNEXT from a SELECT (``OK [UIDNEXT n]``) or STATUS (``(UIDNEXT n)``) response."""
    for line in response.lines:
        if not isinstance(line, bytearray) and (match := _UIDNEXT.search(bytes(line))):
            return int(match.group(1))
    return None


async def status_uidnext(client: aioimaplib.IMAP4, mailbox: str) -> int:
    """For a server whose SELECT did not say UIDNEXT."""
    found = uidnext(ok(await client.status(mailbox, "(UIDNEXT)"), "STATUS"))
    if found is None:
        raise ImapError("neither SELECT nor STATUS answered UIDNEXT")
    return found


def search_uids(response: aioimaplib.Response) -> list[int]:
    """The UIDs of a UID SEARCH response, ascending."""
    first = bytes(response.lines[0]) if response.lines else b""
    return sorted({int(token) for token in first.split() if token.isdigit()})


def batches(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    """``uids`` in lists of at most ``size`` (one FETCH each)."""
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


async def fetch_sizes(client: aioimaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    """RFC822.SIZE of each UID that still exists, in one FETCH, before any message is downloaded."""
    wanted = set(uids)
    response = ok(await client.uid("fetch", ",".join(map(str, uids)), "(UID RFC822.SIZE)"), "UID FETCH")
    sizes = {}
    for line in response.lines:
        if isinstance(line, bytearray):
            continue
        uid, size = _FETCH_UID.search(bytes(line)), _FETCH_SIZE.search(bytes(line))
        if uid is not None and size is not None and int(uid.group(1)) in wanted:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


async def fetch_literal(client: aioimaplib.IMAP4, uid: int, items: str) -> FetchedMail | None:
    """The message's first literal (``items`` names one) and its INTERNALDATE; None when it is gone."""
    lines = ok(await client.uid("fetch", str(uid), f"(UID {items})"), "UID FETCH").lines
    for index, line in enumerate(lines):
        if isinstance(line, bytearray) and index > 0:
            match = _FETCH_UID.search(bytes(lines[index - 1]))
            if match is None or int(match.group(1)) == uid:
                return FetchedMail(uid, bytes(line), _internal_date(lines[index - 1 : index + 2]))
    return None


def _internal_date(lines: Sequence[bytes | bytearray]) -> datetime | None:
    """INTERNALDATE from the lines around a literal (RFC 3501 §7.4.2: it may come before or after)."""
    for line in lines:
        if not isinstance(line, bytearray) and (match := _INTERNALDATE.search(bytes(line))):
            return parse_internaldate(match.group(1))
    return None
