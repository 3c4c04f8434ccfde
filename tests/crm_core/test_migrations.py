"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from crm_core.db import Base, Database
from crm_core.migrate import current_revision, head_revision


def _ours(name: str | None, type_: str, _parent: object) -> bool:
    # The same database holds the knowledge base's tables, which have migrations of their own.
    return type_ != "table" or name in Base.metadata.tables


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _ours})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    assert await current_revision(database.writer) == head_revision()
    async with database.writer.connect() as conn:
        assert await conn.run_sync(_drift) == []
