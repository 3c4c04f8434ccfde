"""The audit log: who did what to which record, written in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import new_id, table
from crm_core.models import AuditEntry

__all__ = ["audit"]


async def audit(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Write one audit entry (``detail`` must be JSON: ids as strings)."""
    await conn.execute(
        insert(table(AuditEntry)).values(
            id=new_id(),
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            detail=detail,
            occurred_at=now,
        )
    )
