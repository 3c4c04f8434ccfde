"""The knowledge migrations build exactly the tables knowledge.schema describes, beside the CRM's."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_core import migrate as crm_migrate
from knowledge.migrate import VERSION_TABLE, current_revision, downgrade, head_revision, upgrade
from knowledge.schema import FTS_TABLE, metadata
from tests.knowledge import kb_fixtures

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name


def _drift(connection: Connection) -> list[object]:
    def ours(name: str | None, type_: str, parent: object) -> bool:
        return type_ != "table" or name in metadata.tables

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_tables(kb_engine: AsyncEngine) -> None:
    assert await current_revision(kb_engine) == head_revision()
    async with kb_engine.connect() as conn:
        assert await conn.run_sync(_drift) == []
        assert set(metadata.tables) <= await conn.run_sync(_tables)


async def test_its_own_version_table_leaves_the_crm_history_alone(kb_engine: AsyncEngine) -> None:
    assert await crm_migrate.current_revision(kb_engine) == crm_migrate.head_revision()
    async with kb_engine.connect() as conn:
        query = text("SELECT version_num FROM knowledge_alembic_version")
        versions = (await conn.execute(query)).scalars().all()
        assert versions == [head_revision()]
        assert {"alembic_version", VERSION_TABLE} <= await conn.run_sync(_tables)


async def test_upgrading_again_changes_nothing(kb_engine: AsyncEngine) -> None:
    await upgrade(kb_engine)
    assert await current_revision(kb_engine) == head_revision()


async def test_the_full_text_index_is_made_for_the_database(kb_engine: AsyncEngine) -> None:
    async with kb_engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = (
                await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE})
            ).scalar()
            assert "fts5" in str(sql)
        else:
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes(FTS_TABLE))
            gin = [i for i in indexes if i["column_names"] == ["document"]]
            assert gin and gin[0].get("dialect_options", {}).get("postgresql_using") == "gin"


async def test_a_database_never_migrated_is_at_no_revision(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_downgrade_drops_the_knowledge_tables_only_and_upgrade_brings_them_back(
    kb_engine: AsyncEngine,
) -> None:
    async with kb_engine.connect() as conn:
        before = await conn.run_sync(_tables)
    await downgrade(kb_engine)
    async with kb_engine.connect() as conn:
        after = await conn.run_sync(_tables)
    assert await current_revision(kb_engine) is None
    assert not {t for t in after if t.startswith("kb_")}
    assert before - after == {t for t in before if t.startswith("kb_")}
    await upgrade(kb_engine)
    async with kb_engine.connect() as conn:
        assert await conn.run_sync(_tables) == before
        assert await conn.run_sync(_drift) == []
