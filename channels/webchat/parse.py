"""The web chat protocol, pure: browser frames in, typed frames out; server frames and broadcast payloads.

Frames are JSON text messages on the WebSocket; README.md describes each one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.webchat.const import (
    MAX_CLIENT_ID_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PAGE_LENGTH,
    MAX_READ_IDS,
    MAX_USER_ID_LENGTH,
    NAME,
    PAYLOAD_REPLY,
    PAYLOAD_VISITOR_MESSAGE,
)
from hub.errors import BadRequest
from hub.messages import (
    ExternalIdentity,
    HistoryItem,
    InboundKind,
    InboundMessage,
    OutboundMessage,
    SenderHints,
)

__all__ = [
    "ClientFrame",
    "Hello",
    "IdentityClaim",
    "Ping",
    "Push",
    "Read",
    "VisitorText",
    "ack_frame",
    "error_frame",
    "frame_from_payload",
    "inbound_message",
    "parse_frame",
    "reply_payload",
    "topic",
    "visitor_message_payload",
    "welcome_frame",
]

_CLIENT_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CLIENT_ID_LENGTH}}}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class IdentityClaim:
    """A logged-in customer as the site describes them, with the site's signature."""

    user_id: str
    signature: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Hello:
    """The first frame: the stored visitor token (None for a new visitor) and an optional identity."""

    token: str | None
    identity: IdentityClaim | None
    page: str | None = None


@dataclass(frozen=True, slots=True)
class VisitorText:
    """A message the visitor typed; ``client_id`` makes a resend after reconnect the same message."""

    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """An application-level ping (browsers cannot see WebSocket pings); answered with ``pong``."""


@dataclass(frozen=True, slots=True)
class Read:
    """The visitor has seen these replies (interaction ids)."""

    ids: tuple[str, ...]


ClientFrame = Hello | VisitorText | Ping | Read


def _bad(detail: str, code: str = "bad_frame") -> BadRequest:
    return BadRequest(detail, code=code)


def _string(data: Mapping[str, Any], key: str, *, limit: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string")
    if len(value) > limit:
        raise _bad(f"{key} is longer than {limit} characters")
    return value


def _required(data: Mapping[str, Any], key: str, *, limit: int) -> str:
    value = _string(data, key, limit=limit)
    if value is None:
        raise _bad(f"{key} is required")
    return value


def _identity(value: Any) -> IdentityClaim | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("identity must be an object", "bad_identity")
    try:
        user_id = _required(value, "id", limit=MAX_USER_ID_LENGTH)
        signature = _required(value, "signature", limit=128)
        name = _string(value, "name", limit=MAX_NAME_LENGTH)
        email = _string(value, "email", limit=MAX_EMAIL_LENGTH)
    except BadRequest as err:
        raise _bad(f"identity.{err.detail}", "bad_identity") from err
    if "|" in user_id or _CONTROL.search(user_id):
        raise _bad("identity.id must not contain '|' or control characters", "bad_identity")
    if email is not None and ("@" not in email or "|" in email or _CONTROL.search(email)):
        raise _bad("identity.email is not an email address", "bad_identity")
    return IdentityClaim(user_id=user_id, signature=signature, name=name, email=email)


def _hello(data: Mapping[str, Any]) -> Hello:
    page = data.get("page")
    return Hello(
        token=_string(data, "token", limit=200),
        identity=_identity(data.get("identity")),
        page=page[:MAX_PAGE_LENGTH] if isinstance(page, str) and page else None,
    )


def _visitor_text(data: Mapping[str, Any], max_text: int) -> VisitorText:
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise _bad(f"client_id must be 1-{MAX_CLIENT_ID_LENGTH} letters, digits, '-' or '_'")
    text = data.get("text")
    if not isinstance(text, str):
        raise _bad("text must be a string")
    if not text.strip():
        raise _bad("text must not be empty", "empty_message")
    if len(text) > max_text:
        raise _bad(f"the message is longer than {max_text} characters", "too_long")
    return VisitorText(client_id=client_id, text=text)


def _read(data: Mapping[str, Any]) -> Read:
    ids = data.get("ids")
    if not isinstance(ids, list) or len(ids) > MAX_READ_IDS or not all(isinstance(i, str) for i in ids):
        raise _bad(f"ids must be a list of at most {MAX_READ_IDS} strings")
    return Read(ids=tuple(ids))


def parse_frame(raw: str, *, max_text: int) -> ClientFrame:
    """One browser frame, or BadRequest whose code the session sends back in an ``error`` frame."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise _bad(f"a frame must be JSON: {err}") from err
    if not isinstance(data, dict):
        raise _bad("a frame must be a JSON object")
    kind = data.get("type")
    if kind == "hello":
        return _hello(data)
    if kind == "message":
        return _visitor_text(data, max_text)
    if kind == "ping":
        return Ping()
    if kind == "read":
        return _read(data)
    raise _bad(f"unknown frame type {kind!r}")


def inbound_message(
    identity: ExternalIdentity,
    visitor_id: str,
    frame: VisitorText,
    *,
    received_at: datetime,
    hints: SenderHints,
    page: str | None,
) -> InboundMessage:
    """The visitor's text as the hub stores it; the visitor id and client id make it idempotent."""
    return InboundMessage(
        identity=identity,
        external_message_id=f"{visitor_id}:{frame.client_id}",
        thread_key=identity.external_id,
        kind=InboundKind.TEXT,
        received_at=received_at,
        text=frame.text,
        sender_hints=hints,
        raw={"visitor_id": visitor_id, "client_id": frame.client_id, "page": page},
    )


def topic(identity: ExternalIdentity) -> str:
    """The broadcast topic every open socket of this identity listens on."""
    return f"{NAME}.{identity.account}.{identity.external_id}"


def _history_item(item: HistoryItem) -> dict[str, Any]:
    return {
        "id": item.interaction_id,
        "direction": item.direction,
        "text": item.text,
        "attachments": [dict(a) for a in item.attachments],
        "author_name": item.author_name,
        "time": item.occurred_at.isoformat(),
        "status": item.delivery_status,
    }


def _dumps(frame: Mapping[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def welcome_frame(
    token: str, *, user: IdentityClaim | None, history: Sequence[HistoryItem], max_text: int
) -> str:
    """The answer to ``hello``: the visitor token to keep, who we think they are, the conversation so far."""
    who: dict[str, Any] = {"kind": "user", "name": user.name} if user else {"kind": "visitor"}
    return _dumps(
        {
            "type": "welcome",
            "token": token,
            "identity": who,
            "history": [_history_item(item) for item in history],
            "max_message_length": max_text,
        }
    )


def ack_frame(client_id: str, interaction_id: str, *, duplicate: bool, at: datetime) -> str:
    """The visitor's message is stored as ``interaction_id``."""
    return _dumps(
        {
            "type": "ack",
            "client_id": client_id,
            "id": interaction_id,
            "duplicate": duplicate,
            "time": at.isoformat(),
        }
    )


def error_frame(code: str, detail: str, **extra: Any) -> str:
    """Something the browser sent was refused; ``code`` is stable, ``detail`` is for people."""
    return _dumps({"type": "error", "code": code, "detail": detail, **extra})


def reply_payload(message: OutboundMessage, *, at: datetime) -> bytes:
    """An agent's (or the bot's) reply as published on the visitor's topic."""
    data = {
        "kind": PAYLOAD_REPLY,
        "id": message.interaction_id,
        "text": message.text,
        "attachments": [a.as_json() for a in message.attachments],
        "author_name": message.author_name,
        "time": at.isoformat(),
    }
    return json.dumps(data, ensure_ascii=False).encode()


def visitor_message_payload(interaction_id: str, frame: VisitorText, *, at: datetime) -> bytes:
    """The visitor's own message, for their other open tabs."""
    data = {
        "kind": PAYLOAD_VISITOR_MESSAGE,
        "id": interaction_id,
        "client_id": frame.client_id,
        "text": frame.text,
        "time": at.isoformat(),
    }
    return json.dumps(data, ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Push:
    """A broadcast payload turned into the frame a socket pushes."""

    kind: str
    interaction_id: str
    frame: str


def frame_from_payload(payload: bytes) -> Push | None:
    """The frame for a broadcast payload, or None for one this version does not know."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    kind = data.pop("kind", None)
    if kind == PAYLOAD_REPLY:
        return Push(kind, data["id"], _dumps({"type": "reply", **data}))
    if kind == PAYLOAD_VISITOR_MESSAGE:
        return Push(kind, data["id"], _dumps({"type": "message", **data}))
    return None
