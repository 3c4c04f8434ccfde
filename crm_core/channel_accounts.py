"""Our numbers, bots and mailboxes per channel, and the team their new conversations go to.

They are listed once traffic arrived on them (crm_core.assignment.note_channel_accounts) or when an admin
adds one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._jsonsql import as_uuid, plain
from crm_core.audit import audit
from crm_core.db import new_id, table
from crm_core.errors import Conflict, NotFoundError
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import ChannelAccount, Team

__all__ = ["ChannelAccountView", "add_channel_account", "edit_channel_account", "list_channel_accounts"]


@dataclass(frozen=True, slots=True)
class ChannelAccountView:
    id: uuid.UUID
    channel: str
    account: str
    display_name: str | None
    default_team_id: uuid.UUID | None
    created_at: datetime


def _view(row: Any) -> ChannelAccountView:
    return ChannelAccountView(
        as_uuid(row.id),
        row.channel,
        row.account,
        row.display_name,
        plain(row.default_team_id),
        row.created_at,
    )


async def list_channel_accounts(conn: AsyncConnection) -> list[ChannelAccountView]:
    """Every known channel account, by channel and account."""
    tbl = table(ChannelAccount)
    rows = await conn.execute(select(tbl).order_by(tbl.c.channel, tbl.c.account))
    return [_view(row) for row in rows]


async def _check_team(conn: AsyncConnection, team_id: uuid.UUID | None) -> None:
    teams = table(Team)
    if (
        team_id is not None
        and (await conn.execute(select(teams.c.id).where(teams.c.id == team_id))).first() is None
    ):
        raise NotFoundError(f"team {team_id} not found")


async def add_channel_account(
    conn: AsyncConnection,
    *,
    channel: str,
    account: str,
    display_name: str | None,
    default_team_id: uuid.UUID | None,
    actor: str,
    now: datetime,
) -> ChannelAccountView:
    """List an account before traffic arrives on it; Conflict when it is listed already."""
    tbl = table(ChannelAccount)
    taken = await conn.execute(select(tbl.c.id).where(tbl.c.channel == channel, tbl.c.account == account))
    if taken.first() is not None:
        raise Conflict(f"{channel} account {account} is listed already")
    await _check_team(conn, default_team_id)
    item_id = as_uuid(new_id())
    await conn.execute(
        insert(tbl).values(
            id=item_id,
            channel=channel,
            account=account,
            display_name=display_name,
            default_team_id=default_team_id,
            created_at=now,
        )
    )
    team = str(default_team_id) if default_team_id else None
    await _audit(
        conn,
        actor,
        "channel_account.created",
        item_id,
        {"channel": channel, "account": account, "default_team_id": team},
        now,
    )
    return ChannelAccountView(item_id, channel, account, display_name, default_team_id, now)


async def edit_channel_account(
    conn: AsyncConnection, item_id: uuid.UUID, changes: dict[str, Any], *, actor: str, now: datetime
) -> tuple[ChannelAccountView, list[StoredEvent]]:
    """Change an account's ``display_name`` and/or ``default_team_id`` (None: no automatic routing);
    announced as ``channel_account.updated`` (its waiting conversations may now have a team)."""
    values = {k: changes[k] for k in ("display_name", "default_team_id") if k in changes}
    await _check_team(conn, values.get("default_team_id"))
    tbl = table(ChannelAccount)
    if values:
        await conn.execute(update(tbl).where(tbl.c.id == item_id).values(**values))
    row = (await conn.execute(select(tbl).where(tbl.c.id == item_id))).first()
    if row is None:
        raise NotFoundError(f"channel account {item_id} not found")
    detail: dict[str, Any] = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in values.items()}
    await _audit(conn, actor, "channel_account.updated", item_id, detail, now)
    events = await add_events(
        conn, [EventDraft("channel_account.updated", {"channel_account_id": str(item_id)})], now
    )
    return _view(row), events


async def _audit(
    conn: AsyncConnection, actor: str, action: str, item_id: uuid.UUID, detail: dict[str, Any], now: datetime
) -> None:
    await audit(
        conn,
        actor=actor,
        action=action,
        subject_type="channel_account",
        subject_id=item_id,
        detail=detail,
        now=now,
    )
