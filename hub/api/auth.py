"""Who is calling the REST API: bearer tokens made by ``switchboard token create``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from crm_core.accounts import authenticate_token
from crm_core.db import Database
from hub.errors import Forbidden, Unauthorized

__all__ = ["PRINCIPAL", "Principal", "TokenCache", "auth_middleware", "require_role"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str
    agent_id: str | None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"agent:{self.agent_id}" if self.agent_id else f"token:{self.name}"


PRINCIPAL = web.RequestKey("principal", Principal)


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
            else Principal(info.name, info.role, str(info.agent_id) if info.agent_id else None)
        )
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token] = (now + CACHE_SECONDS, principal)
        return principal


TOKEN_CACHE = web.AppKey("token_cache", TokenCache)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require ``Authorization: Bearer <token>`` on every API route but the OpenAPI file."""
    if request.path in PUBLIC_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>", code="missing_token")
    principal = await request.app[TOKEN_CACHE].lookup(token.strip())
    if principal is None:
        raise Unauthorized("unknown or revoked token", code="bad_token")
    request[PRINCIPAL] = principal
    return await handler(request)


def require_role(request: web.Request, *roles: str) -> Principal:
    """The caller, if their role is one of ``roles``; Forbidden otherwise."""
    principal = request[PRINCIPAL]
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not do this")
    return principal
