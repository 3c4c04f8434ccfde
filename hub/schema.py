"""The database schema of every part: the CRM's migrations, then the knowledge base's (own version table)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

import crm_core.migrate
import knowledge.migrate

__all__ = ["migrate_all"]


async def migrate_all(engine: AsyncEngine) -> None:
    """Bring every part's tables to their newest revision; safe to run again."""
    await crm_core.migrate.upgrade(engine)
    await knowledge.migrate.upgrade(engine)
