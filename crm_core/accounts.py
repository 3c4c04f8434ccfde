"""Agents (console users, password sign-in) and API tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._contact_views import AnyRow
from crm_core._jsonsql import as_uuid, plain
from crm_core.db import new_id
from crm_core.errors import Conflict
from crm_core.models import Agent, ApiToken, Role

__all__ = [
    "TOKEN_PREFIX",
    "AgentView",
    "TokenInfo",
    "authenticate_password",
    "authenticate_token",
    "create_agent",
    "create_token",
    "hash_password",
    "revoke_token",
    "verify_password",
]

TOKEN_PREFIX = "sb_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for, not a secret)
# scrypt cost: 16 MiB and some tens of milliseconds per hash (RFC 7914 interactive-login guidance).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES, _SALT_BYTES = 2**14, 8, 1, 32, 16
# A stored hash whose cost exceeds this is corrupt or hostile: refuse it rather than exhaust memory.
_MAX_SCRYPT_N = 2**20


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent as the rest of the hub sees it (never the password hash)."""

    id: uuid.UUID
    name: str
    email: str
    role: Role
    active: bool
    languages: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What an API token stands for."""

    id: uuid.UUID
    name: str
    role: Role
    agent_id: uuid.UUID | None
    created_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: scrypt needs 128*n*r*p bytes; OpenSSL's default ceiling (32 MiB) is too tight past n=2**14.
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r * p
    )


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64url) for ``password``, with a fresh random salt. CPU-heavy."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`. CPU-heavy."""
    try:
        scheme, n_text, r_text, p_text, salt_text, key_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(key_text)
    except ValueError:
        return False
    if scheme != "scrypt" or not (1 < n <= _MAX_SCRYPT_N and 0 < r <= 32 and 0 < p <= 16 and expected):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _check_password(password: str, encoded: str | None) -> bool:
    # Without a usable hash, check a decoy anyway so a wrong email costs as long as a wrong password.
    verified = verify_password(password, _decoy_hash() if encoded is None else encoded)
    return verified and encoded is not None


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def _agent(row: AnyRow) -> AgentView:
    return AgentView(
        id=as_uuid(row.id),
        name=row.name,
        email=row.email,
        role=Role(row.role),
        active=bool(row.active),
        languages=tuple(row.languages or ()),
        created_at=row.created_at,
    )


_AGENT_COLUMNS = (
    Agent.id,
    Agent.name,
    Agent.email,
    Agent.role,
    Agent.active,
    Agent.languages,
    Agent.created_at,
)


async def create_agent(
    conn: AsyncConnection,
    *,
    name: str,
    email: str,
    role: Role,
    password: str | None,
    now: datetime,
    languages: Sequence[str] = (),
) -> AgentView:
    """Add an agent (``password`` None: cannot sign in with a password); raises Conflict on a taken email."""
    address = _normalise_email(email)
    taken = await conn.execute(select(Agent.id).where(Agent.email == address))
    if taken.first() is not None:
        raise Conflict(f"an agent with email {address} exists")
    password_hash = None if password is None else await asyncio.to_thread(hash_password, password)
    # as_uuid: new_id() returns uuid6's UUID subclass, which JSON serializers refuse.
    view = AgentView(as_uuid(new_id()), name, address, Role(role), True, tuple(languages), now)
    await conn.execute(
        insert(Agent).values(
            id=view.id,
            name=view.name,
            email=view.email,
            role=view.role.value,
            password_hash=password_hash,
            active=True,
            languages=list(view.languages),
            created_at=now,
        )
    )
    return view


async def authenticate_password(conn: AsyncConnection, email: str, password: str) -> AgentView | None:
    """The active agent with this email and password, or None (same time taken either way)."""
    query = select(*_AGENT_COLUMNS, Agent.password_hash).where(Agent.email == _normalise_email(email))
    row = (await conn.execute(query)).one_or_none()
    encoded: str | None = row.password_hash if row is not None and row.active else None
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    matches = await asyncio.to_thread(_check_password, password, encoded)
    return _agent(row) if row is not None and matches else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(
    conn: AsyncConnection,
    *,
    name: str,
    role: Role,
    agent_id: uuid.UUID | None = None,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Make an API token; the plaintext is returned here once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    info = TokenInfo(as_uuid(new_id()), name, Role(role), plain(agent_id), now)
    await conn.execute(
        insert(ApiToken).values(
            id=info.id,
            name=name,
            token_hash=_token_hash(token),
            role=info.role.value,
            agent_id=agent_id,
            created_at=now,
            revoked_at=None,
            expires_at=expires_at,
        )
    )
    return token, info


async def authenticate_token(
    conn: AsyncConnection, token: str, now: datetime | None = None
) -> TokenInfo | None:
    """What a presented token stands for; None when unknown, revoked, expired, or its agent deactivated."""
    now = now or datetime.now(UTC)
    if not token.startswith(TOKEN_PREFIX):
        return None
    query = (
        select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.agent_id, ApiToken.created_at)
        .outerjoin(Agent, Agent.id == ApiToken.agent_id)
        .where(
            ApiToken.token_hash == _token_hash(token),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            or_(ApiToken.agent_id.is_(None), Agent.active.is_(True)),
        )
    )
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    return TokenInfo(as_uuid(row.id), row.name, Role(row.role), plain(row.agent_id), row.created_at)


async def revoke_agent_tokens(conn: AsyncConnection, agent_id: uuid.UUID, now: datetime) -> int:
    """Revoke every live token (sessions included) of this agent; how many."""
    result = await conn.execute(
        update(ApiToken)
        .where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


async def revoke_token(conn: AsyncConnection, token_id: uuid.UUID, now: datetime) -> bool:
    """Revoke a token; False when there is no such token or it was revoked already."""
    result = await conn.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)
