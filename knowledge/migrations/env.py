"""Alembic environment of the knowledge tables: runs on the connection knowledge.migrate hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from knowledge.migrate import VERSION_TABLE
from knowledge.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run these migrations through knowledge.migrate.upgrade")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only our tables: the CRM's and the full-text index's (made by hand) are not in this metadata."""
    return type_ != "table" or name in metadata.tables


context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
