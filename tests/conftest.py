"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, clean for every test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crm_core.db import Base, Database, open_database
from hub.schema import migrate_all
from tests.servers import POSTGRES_URL, require_postgres

pytest_plugins = ["tests.netguard"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


async def _migrate(url: str) -> None:
    db = open_database(url)
    try:
        await migrate_all(db.writer)
    finally:
        await db.dispose()


async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "switchboard.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    require_postgres()
    name = f"sb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with db.writer.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))


async def _truncate_url(url: str) -> None:
    db = open_database(url)
    try:
        await _truncate(db)
    finally:
        await db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite file of this test's own."""
    path = tmp_path / "switchboard.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    asyncio.run(_truncate_url(postgres_database))
    return postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated, empty database: SQLite, then PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """Engines on a migrated, empty database (SQLite and PostgreSQL)."""
    db = open_database(database_url, sqlite_synchronous="NORMAL")
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session converts the packaged model once (``SWITCHBOARD_MODEL_HOME`` of test hubs)."""
    return tmp_path_factory.mktemp("model-home")
