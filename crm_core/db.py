"""Declarative base, portable column types and engines for SQLite (embedded) and PostgreSQL (scaled)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, Uuid, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from uuid_utils.compat import uuid7

__all__ = ["Base", "Database", "JsonType", "UTCDateTime", "new_id", "open_database", "table"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """A time-ordered id (UUIDv7), so new rows land at the end of indexes; a plain uuid.UUID."""
    return uuid7()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware in Python and UTC in the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep UTC without offset so strings sort by time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Base of every CRM table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as such (for bulk statements on the hot path)."""
    found = model.__table__
    if not isinstance(found, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return found


@dataclass(frozen=True, slots=True)
class Database:
    """The engines the hub uses: writers and readers.

    On SQLite, ``sync_writer`` is the hot path's one writer connection, used from one thread (a whole
    batch in one hop instead of a thread hop per statement); ``writer`` serves rare writes (API
    changes, migrations) and waits on SQLite's lock when the hot path holds it.
    """

    writer: AsyncEngine
    reader: AsyncEngine
    url: str
    sync_writer: Engine | None = None

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        if self.sync_writer is not None:
            self.sync_writer.dispose()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return on_connect


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def open_database(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> Database:
    """Create engines for ``url``; nothing connects until first use."""
    if url.startswith("sqlite"):
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError("sqlite_synchronous must be FULL or NORMAL")
        # One writer connection: SQLite serialises writers anyway, and a pool of them only contends.
        writer = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=60, json_serializer=_json_dumps
        )
        reader = create_async_engine(url, pool_size=4, max_overflow=4, json_serializer=_json_dumps)
        sync_writer = create_engine(
            url.replace("+aiosqlite", "", 1), pool_size=1, max_overflow=0, json_serializer=_json_dumps
        )
        for sync_engine in (writer.sync_engine, reader.sync_engine, sync_writer):
            event.listen(sync_engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        return Database(writer=writer, reader=reader, url=url, sync_writer=sync_writer)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
    )
    return Database(writer=engine, reader=engine, url=url)
