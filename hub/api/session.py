"""Console sign-in: a session is a short-lived token in an HttpOnly cookie, with a CSRF token beside it.

Cookie-authenticated requests that change state must echo the ``sb_csrf`` cookie in ``X-CSRF-Token``
(double submit; the cookies are also SameSite=Strict). Sign-in is rate-limited per address and locks an
account for a while after repeated failures.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import deque
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from crm_core.accounts import authenticate_password, create_token, revoke_token
from crm_core.assignment import set_availability
from crm_core.models import Agent, Availability, Role
from hub.api.auth import CSRF_COOKIE, PRINCIPAL, SESSION_COOKIE, TOKEN, TOKEN_CACHE, require_role
from hub.api.params import json_body, respond
from hub.errors import BadRequest, SwitchboardError, Unauthorized
from hub.keys import DATABASE, PIPELINE
from hub.messages import utcnow

__all__ = ["SIGN_IN_GUARD", "SignInGuard", "session_routes"]

SESSION_HOURS = 12
ANY_ROLE = ("agent", "supervisor", "admin", "service")


class TooManyAttempts(SwitchboardError):
    """Sign-in is locked for a while (too many failures for this account, or attempts from this address)."""

    status = 429
    code = "sign_in_locked"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class SignInGuard:
    """Counts sign-in attempts in this process: per address per minute, and failures per account."""

    def __init__(
        self, *, per_address: int = 20, failures: int = 5, window: float = 900.0, lock: float = 900.0
    ) -> None:
        self.per_address, self.failures, self.window, self.lock = per_address, failures, window, lock
        self._attempts: dict[str, deque[float]] = {}
        self._failed: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def check(self, address: str, email: str) -> None:
        """Raise TooManyAttempts when this attempt may not even be tried."""
        now = time.monotonic()
        locked = self._locked_until.get(email, 0.0)
        if locked > now:
            raise TooManyAttempts("too many failed sign-ins for this account; try again later", locked - now)
        attempts = _recent(self._attempts.setdefault(address, deque()), now, 60.0)
        if len(attempts) >= self.per_address:
            raise TooManyAttempts("too many sign-in attempts from this address", 60.0 - (now - attempts[0]))
        attempts.append(now)

    def failed(self, email: str) -> None:
        now = time.monotonic()
        failures = _recent(self._failed.setdefault(email, deque()), now, self.window)
        failures.append(now)
        if len(failures) >= self.failures:
            self._locked_until[email] = now + self.lock
            failures.clear()

    def succeeded(self, email: str) -> None:
        self._failed.pop(email, None)


def _recent(times: deque[float], now: float, window: float) -> deque[float]:
    while times and now - times[0] > window:
        times.popleft()
    return times


SIGN_IN_GUARD = web.AppKey("sign_in_guard", SignInGuard)


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


async def sign_in(request: web.Request) -> web.Response:
    """Email and password in; a session cookie and a CSRF token out."""
    body = await json_body(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise BadRequest("email and password are required", code="missing_field")
    guard = request.app[SIGN_IN_GUARD]
    guard.check(request.remote or "unknown", email.strip().lower())
    db = request.config_dict[DATABASE]
    async with db.reader.connect() as conn:
        agent = await authenticate_password(conn, email, password)
    if agent is None or agent.role is Role.SERVICE:
        guard.failed(email.strip().lower())
        raise Unauthorized("wrong email or password", code="bad_credentials")
    guard.succeeded(email.strip().lower())
    now = utcnow()
    expires = now + timedelta(hours=SESSION_HOURS)
    async with db.writer.begin() as conn:
        token, _info = await create_token(
            conn,
            name=f"session:{agent.email}",
            role=agent.role,
            agent_id=agent.id,
            now=now,
            expires_at=expires,
        )
    csrf = secrets.token_urlsafe(24)
    response = respond(
        {
            "agent": {"id": agent.id, "name": agent.name, "email": agent.email, "role": agent.role.value},
            "csrf_token": csrf,
            "expires_at": expires,
        }
    )
    age = SESSION_HOURS * 3600
    secure = _secure(request)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=age, httponly=True, samesite="Strict", secure=secure, path="/"
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, samesite="Strict", secure=secure, path="/")
    return response


async def _agent_of(request: web.Request, agent_id: str | None) -> dict[str, Any] | None:
    """The signed-in agent as the console shows it; None for a token that belongs to no agent."""
    if agent_id is None:
        return None
    query = select(Agent.id, Agent.name, Agent.email, Agent.role, Agent.availability).where(
        Agent.id == uuid.UUID(agent_id)
    )
    async with request.config_dict[DATABASE].reader.connect() as conn:
        row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return {
        "id": str(row.id),
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "availability": row.availability,
    }


async def current_session(request: web.Request) -> web.Response:
    """Who is signed in: the token's name and role, and the agent it belongs to (``agent``, or null)."""
    principal = require_role(request, *ANY_ROLE)
    agent = await _agent_of(request, principal.agent_id)
    return respond(
        {"name": principal.name, "role": principal.role, "agent_id": principal.agent_id, "agent": agent}
    )


async def sign_out(request: web.Request) -> web.Response:
    """End this session: the token is revoked, the cookies cleared, the agent set offline."""
    principal = request[PRINCIPAL]
    if principal.token_id is not None:
        events = []
        async with request.config_dict[DATABASE].writer.begin() as conn:
            await revoke_token(conn, principal.token_id, utcnow())
            if principal.agent_id is not None:
                events = await set_availability(
                    conn,
                    uuid.UUID(principal.agent_id),
                    Availability.OFFLINE,
                    actor=principal.actor,
                    now=utcnow(),
                )
        request.config_dict[PIPELINE].notify_committed(events)
        request.app[TOKEN_CACHE].forget(request[TOKEN])
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    return response


def session_routes() -> list[web.RouteDef]:
    return [
        web.post("/session", sign_in),
        web.get("/session", current_session),
        web.delete("/session", sign_out),
    ]
