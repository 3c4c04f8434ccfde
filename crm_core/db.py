"""Declarative base, portable column types and engines for SQLite (embedded) and PostgreSQL (scaled)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from uuid6 import uuid7

__all__ = ["Base", "Database", "JsonType", "UTCDateTime", "new_id", "open_database", "table"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """A time-ordered id (UUIDv7), so new rows land at the end of indexes."""
    value: uuid.UUID = uuid7()
    return value


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
    """The engines the hub uses: one writer (a single connection on SQLite) and readers."""

    writer: AsyncEngine
    reader: AsyncEngine
    url: str

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
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


def open_database(url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> Database:
    """Create engines for ``url``; nothing connects until first use."""
    if url.startswith("sqlite"):
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError("sqlite_synchronous must be FULL or NORMAL")
        # One writer connection: SQLite serialises writers anyway, and a pool of them only contends.
        writer = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        reader = create_async_engine(url, pool_size=4, max_overflow=4)
        for engine in (writer, reader):
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        return Database(writer=writer, reader=reader, url=url)
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return Database(writer=engine, reader=engine, url=url)
