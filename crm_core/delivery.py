"""Delivery reports for messages we sent: the status only moves forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, insert, select, update

from crm_core.db import new_id, table
from crm_core.events import EventDraft, StoredEvent, write_events
from crm_core.models import Direction, Interaction
from crm_core.models_messaging import EarlyDeliveryReport

__all__ = ["STATUS_ORDER", "DeliveryReport", "advances", "apply_early_reports", "store_delivery_reports"]

EARLY_REPORTS_KEPT = timedelta(days=1)
"""How long a report for a message not (yet) recorded as sent waits for it."""

# queued < sent < delivered < read; failed may follow any of them and is final.
STATUS_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's report on one message we sent."""

    channel: str
    external_message_id: str
    status: str
    error: str | None = None


def advances(new: str, current: str | None) -> bool:
    """Whether a status may replace the stored one: forward only, and failed is final."""
    if current is None:
        return True
    if current == "failed":
        return False
    return new == "failed" or STATUS_ORDER[new] > STATUS_ORDER[current]


def store_delivery_reports(
    conn: Connection, reports: Sequence[DeliveryReport], now: datetime
) -> list[StoredEvent]:
    """Move outgoing interactions' statuses forward; stale reports change nothing.

    A report for a message we have not recorded as sent (yet) waits in ``early_delivery_reports``: a fast
    provider can report before the outbox has stored the id its send returned.
    """
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
        if row is None:
            conn.execute(
                insert(table(EarlyDeliveryReport)).values(
                    id=new_id(),
                    channel=report.channel,
                    external_message_id=report.external_message_id,
                    status=report.status,
                    error=report.error,
                    received_at=now,
                )
            )
            continue
        if not advances(report.status, row.delivery_status):
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


def apply_early_reports(
    conn: Connection, channel: str, external_message_id: str, now: datetime
) -> list[StoredEvent]:
    """Apply the reports that arrived before this message was recorded as sent; drop stale ones."""
    early = table(EarlyDeliveryReport)
    conn.execute(delete(early).where(early.c.received_at < now - EARLY_REPORTS_KEPT))
    mine = and_(early.c.channel == channel, early.c.external_message_id == external_message_id)
    rows = conn.execute(select(early.c.status, early.c.error).where(mine).order_by(early.c.received_at)).all()
    if not rows:
        return []
    conn.execute(delete(early).where(mine))
    reports = [DeliveryReport(channel, external_message_id, row.status, row.error) for row in rows]
    return store_delivery_reports(conn, reports, now)
