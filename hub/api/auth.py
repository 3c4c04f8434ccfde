"""Who is calling the REST API: bearer tokens (``switchboard token create``) or the console's session cookie.

A cookie-authenticated request that changes state must carry the CSRF token (cookie ``sb_csrf``) in the
``X-CSRF-Token`` header: a page on another site can make the browser send the cookie, never read it.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from crm_core.accounts import authenticate_token
from crm_core.db import Database
from hub.errors import Forbidden, Unauthorized

__all__ = [
    "CSRF_COOKIE",
    "PRINCIPAL",
    "SESSION_COOKIE",
    "TOKEN",
    "Principal",
    "TokenCache",
    "auth_middleware",
    "require_role",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = frozenset(
    {("GET", "/api/v1/openapi.json"), ("HEAD", "/api/v1/openapi.json"), ("POST", "/api/v1/session")}
)
CACHE_SECONDS = 30.0
SESSION_COOKIE = "sb_session"
CSRF_COOKIE = "sb_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str
    agent_id: str | None
    token_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"agent:{self.agent_id}" if self.agent_id else f"token:{self.name}"


PRINCIPAL = web.RequestKey("principal", Principal)
TOKEN = web.RequestKey("token", str)


class TokenCache:
    """Remembers verified tokens briefly, so each API call does not cost a database read."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    async def lookup(self, token: str) -> Principal | None:
        now = time.monotonic()
        hit = self._entries.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._db.reader.connect() as conn:
            info = await authenticate_token(conn, token)
        principal = (
            None
            if info is None
            else Principal(info.name, info.role, str(info.agent_id) if info.agent_id else None, info.id)
        )
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token] = (now + CACHE_SECONDS, principal)
        return principal

    def forget(self, token: str) -> None:
        """Drop a token at once (sign-out); other processes notice within CACHE_SECONDS."""
        self._entries.pop(token, None)

    def forget_agent(self, agent_id: str) -> None:
        """Drop every cached token of this agent (their role or password changed)."""
        for token, (_expires, principal) in list(self._entries.items()):
            if principal is not None and principal.agent_id == agent_id:
                self._entries.pop(token, None)


TOKEN_CACHE = web.AppKey("token_cache", TokenCache)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a bearer token or a session cookie on every API route but the OpenAPI file and sign-in."""
    if (request.method, request.path) in PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    from_cookie = not header and SESSION_COOKIE in request.cookies
    if from_cookie:
        token, scheme = request.cookies[SESSION_COOKIE], "bearer"
        _check_csrf(request)
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>, or sign in", code="missing_token")
    principal = await request.app[TOKEN_CACHE].lookup(token.strip())
    if principal is None:
        raise Unauthorized("unknown, revoked or expired token", code="bad_token")
    request[PRINCIPAL] = principal
    request[TOKEN] = token.strip()
    return await handler(request)


def _check_csrf(request: web.Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("send the sb_csrf cookie's value in X-CSRF-Token", code="csrf_failed")


def require_role(request: web.Request, *roles: str) -> Principal:
    """The caller, if their role is one of ``roles``; Forbidden otherwise."""
    principal = request[PRINCIPAL]
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not do this")
    return principal
