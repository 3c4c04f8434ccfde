"""Agents and API tokens on SQLite and PostgreSQL: scrypt passwords, hashed tokens, revocation."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select, update

from crm_core.accounts import (
    authenticate_password,
    authenticate_token,
    create_agent,
    create_token,
    hash_password,
    revoke_token,
    verify_password,
)
from crm_core.db import Database
from crm_core.errors import Conflict
from crm_core.models import Agent, ApiToken, Role

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_password_hash_is_salted_scrypt_with_its_parameters() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second
    scheme, n, r, p, _salt, _key = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horse!", first)
    assert not verify_password("correct horse", "scrypt$not$a$hash")
    assert not verify_password("correct horse", first.replace("scrypt$16384", "scrypt$1073741824"))


async def test_password_sign_in(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await create_agent(
            conn, name="Shirin Moradi", email=" Shirin@Example.com ", role=Role.SUPERVISOR,
            password="خیلی-امن-۱۲۳", now=NOW, languages=("fa", "en"),
        )  # fmt: skip
        await create_agent(
            conn, name="No Password", email="nopass@example.com", role=Role.AGENT, password=None, now=NOW
        )
    async with database.reader.connect() as conn:
        stored = (await conn.execute(select(Agent.password_hash).where(Agent.id == agent.id))).scalar_one()
        signed_in = await authenticate_password(conn, "shirin@example.COM", "خیلی-امن-۱۲۳")
        wrong_password = await authenticate_password(conn, "shirin@example.com", "خیلی-امن-۱۲۴")
        unknown = await authenticate_password(conn, "nobody@example.com", "خیلی-امن-۱۲۳")
        no_password = await authenticate_password(conn, "nopass@example.com", "")
    assert (agent.email, agent.role, agent.languages, agent.active) == (
        "shirin@example.com",
        Role.SUPERVISOR,
        ("fa", "en"),
        True,
    )
    assert stored is not None and stored.startswith("scrypt$") and "خیلی" not in stored
    assert signed_in == agent and orjson.dumps(signed_in)
    assert wrong_password is None and unknown is None and no_password is None


async def test_deactivated_agent_cannot_sign_in(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await create_agent(
            conn, name="Avi", email="avi@example.com", role=Role.AGENT, password="pw-1", now=NOW
        )
        await conn.execute(update(Agent).where(Agent.id == agent.id).values(active=False))
    async with database.reader.connect() as conn:
        assert await authenticate_password(conn, "avi@example.com", "pw-1") is None


async def test_duplicate_email_is_a_conflict(database: Database) -> None:
    async with database.writer.begin() as conn:
        await create_agent(
            conn, name="Omar", email="omar@example.com", role=Role.AGENT, password=None, now=NOW
        )
        with pytest.raises(Conflict):
            await create_agent(
                conn, name="Omar 2", email="OMAR@example.com", role=Role.ADMIN, password=None, now=NOW
            )
    assert Conflict.code == "conflict"


async def test_token_is_shown_once_and_stored_as_sha256(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await create_agent(
            conn, name="Jess", email="jess@example.com", role=Role.AGENT, password=None, now=NOW
        )
        token, info = await create_token(conn, name="console", role=Role.AGENT, agent_id=agent.id, now=NOW)
        service_token, _ = await create_token(conn, name="crm-sync", role=Role.SERVICE, now=NOW)
    async with database.reader.connect() as conn:
        stored = (await conn.execute(select(ApiToken.token_hash).where(ApiToken.id == info.id))).scalar_one()
        found = await authenticate_token(conn, token)
        service = await authenticate_token(conn, service_token)
        tampered = await authenticate_token(conn, token[:-1] + ("A" if token[-1] != "A" else "B"))
        foreign = await authenticate_token(conn, "not-ours")
    assert token.startswith("sb_") and len(token) > 40 and token != service_token
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert found == info and (info.role, info.agent_id, info.name) == (Role.AGENT, agent.id, "console")
    assert service is not None and service.role is Role.SERVICE and service.agent_id is None
    assert tampered is None and foreign is None
    assert orjson.dumps([found, service])  # plain values: no driver UUID types


async def test_revoked_token_and_deactivated_agent_token_are_refused(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await create_agent(
            conn, name="Avi", email="avi@example.com", role=Role.AGENT, password=None, now=NOW
        )
        revoked, revoked_info = await create_token(conn, name="old", role=Role.ADMIN, now=NOW)
        kept, _ = await create_token(conn, name="kept", role=Role.ADMIN, now=NOW)
        personal, _ = await create_token(conn, name="avi", role=Role.AGENT, agent_id=agent.id, now=NOW)
    async with database.writer.begin() as conn:
        assert await revoke_token(conn, revoked_info.id, NOW + timedelta(minutes=1)) is True
        assert await revoke_token(conn, revoked_info.id, NOW + timedelta(minutes=2)) is False
        assert await revoke_token(conn, uuid.uuid4(), NOW) is False
        await conn.execute(update(Agent).where(Agent.id == agent.id).values(active=False))
    async with database.reader.connect() as conn:
        revoked_at = (
            await conn.execute(select(ApiToken.revoked_at).where(ApiToken.id == revoked_info.id))
        ).scalar_one()
        assert await authenticate_token(conn, revoked) is None
        assert await authenticate_token(conn, personal) is None
        assert await authenticate_token(conn, kept) is not None
    assert revoked_at == NOW + timedelta(minutes=1)
