"""Channels' small durable state (an IMAP mailbox's UID checkpoint): one row per channel and key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.models_messaging import ChannelStateEntry

__all__ = ["get_channel_state", "put_channel_state"]


async def get_channel_state(conn: AsyncConnection, channel: str, key: str) -> str | None:
    """The value stored under (channel, key), or None."""
    tbl = table(ChannelStateEntry)
    row = await conn.execute(select(tbl.c.value).where(tbl.c.channel == channel, tbl.c.key == key))
    return row.scalar_one_or_none()


async def put_channel_state(conn: AsyncConnection, channel: str, key: str, value: str, now: datetime) -> None:
    """Store ``value`` under (channel, key), replacing what was there."""
    tbl = table(ChannelStateEntry)
    changed = await conn.execute(
        update(tbl).where(tbl.c.channel == channel, tbl.c.key == key).values(value=value, updated_at=now)
    )
    if changed.rowcount:
        return
    try:
        async with conn.begin_nested():
            await conn.execute(tbl.insert().values(channel=channel, key=key, value=value, updated_at=now))
    except IntegrityError:  # another process inserted it first: ours is the later write
        await conn.execute(
            update(tbl).where(tbl.c.channel == channel, tbl.c.key == key).values(value=value, updated_at=now)
        )
