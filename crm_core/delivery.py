"""Delivery reports for messages we sent: the status only moves forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from crm_core.db import table
from crm_core.events import EventDraft, StoredEvent, write_events
from crm_core.models import Direction, Interaction

__all__ = ["STATUS_ORDER", "DeliveryReport", "store_delivery_reports"]

# queued < sent < delivered < read; failed may follow any of them and is final.
STATUS_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's report on one message we sent."""

    channel: str
    external_message_id: str
    status: str
    error: str | None = None


def _advances(new: str, current: str | None) -> bool:
    if current is None:
        return True
    if current == "failed":
        return False
    return new == "failed" or STATUS_ORDER[new] > STATUS_ORDER[current]


def store_delivery_reports(
    conn: Connection, reports: Sequence[DeliveryReport], now: datetime
) -> list[StoredEvent]:
    """Move outgoing interactions' statuses forward; stale or unknown reports change nothing."""
    tbl = table(Interaction)
    drafts: list[EventDraft] = []
    for report in reports:
        if report.status not in STATUS_ORDER:
            raise ValueError(f"unknown delivery status {report.status!r}")
        row = (
            conn.execute(
                select(tbl.c.id, tbl.c.delivery_status, tbl.c.conversation_id).where(
                    tbl.c.channel == report.channel,
                    tbl.c.external_message_id == report.external_message_id,
                    tbl.c.direction == Direction.OUT.value,
                )
            )
        ).first()
        if row is None or not _advances(report.status, row.delivery_status):
            continue
        conn.execute(
            update(tbl)
            .where(tbl.c.id == row.id)
            .values(delivery_status=report.status, delivery_error=report.error)
        )
        drafts.append(
            EventDraft(
                "interaction.delivery_updated",
                {"interaction_id": str(row.id), "conversation_id": str(row.conversation_id)},
            )
        )
    return write_events(conn, drafts, now)
