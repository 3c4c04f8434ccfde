"""Alembic environment: runs migrations on the connection crm_core.migrate hands over."""

from __future__ import annotations

from alembic import context

from crm_core import models, models_messaging  # noqa: F401  (registers every table on Base.metadata)
from crm_core.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through crm_core.migrate (switchboard migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
