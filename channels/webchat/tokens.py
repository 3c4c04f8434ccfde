"""Visitor tokens and signed identities: pure HMAC rules, no I/O.

A visitor token is ``v1.<visitor id>.<mac>``: a random visitor id and the base64url HMAC-SHA256 of
``webchat-visitor|v1|<account>|<visitor id>`` keyed with ``SWITCHBOARD_WEBCHAT_SECRET``. The browser keeps it
in localStorage; whoever holds it is that visitor, so it is made only here and never accepted unsigned.

A signed identity is the customer's own site vouching for a logged-in customer (the scheme Intercom calls
identity verification): ``signature = hex HMAC-SHA256(SWITCHBOARD_WEBCHAT_IDENTITY_SECRET, message)`` where
``message`` is the id alone, or ``<id>|<email>`` when an email is passed, so a visitor cannot attach a
verified email of their choosing to a valid id. Ids may not contain ``|``, so no two claims sign the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from channels.webchat.const import TOKEN_VERSION, VISITOR_ID_BYTES
from hub.errors import Unauthorized

__all__ = [
    "identity_message",
    "issue_token",
    "new_visitor_id",
    "read_token",
    "sign_identity",
    "verify_identity",
]

_VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_visitor_id() -> str:
    """A fresh random visitor id (22 base64url characters, 128 bits)."""
    return secrets.token_urlsafe(VISITOR_ID_BYTES)


def _token_mac(secret: str, account: str, visitor_id: str) -> str:
    message = f"webchat-visitor|{TOKEN_VERSION}|{account}|{visitor_id}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(secret: str, account: str, visitor_id: str) -> str:
    """The token that names ``visitor_id`` on ``account``."""
    return f"{TOKEN_VERSION}.{visitor_id}.{_token_mac(secret, account, visitor_id)}"


def read_token(secret: str, account: str, token: str) -> str:
    """The visitor id a token names; Unauthorized (``bad_token``) when it was not made with ``secret``."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION or not _VISITOR_ID.fullmatch(parts[1]):
        raise Unauthorized("the visitor token is malformed", code="bad_token")
    expected = _token_mac(secret, account, parts[1])
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        raise Unauthorized("the visitor token was not issued by this hub", code="bad_token")
    return parts[1]


def identity_message(user_id: str, email: str | None) -> bytes:
    """What the customer's site signs: ``<id>`` or ``<id>|<email>`` (UTF-8)."""
    return (user_id if email is None else f"{user_id}|{email}").encode()


def sign_identity(identity_secret: str, user_id: str, email: str | None = None) -> str:
    """The hex signature a site computes for a logged-in customer (what its server code does)."""
    return hmac.new(identity_secret.encode(), identity_message(user_id, email), hashlib.sha256).hexdigest()


def verify_identity(identity_secret: str, user_id: str, email: str | None, signature: str) -> None:
    """Raise Unauthorized (``bad_identity_signature``) unless ``signature`` signs this id and email."""
    expected = sign_identity(identity_secret, user_id, email)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise Unauthorized("the identity signature does not match", code="bad_identity_signature")
