"""The hub's :class:`~hub.contract.ChannelState`: a channel's checkpoints, kept in the CRM database."""

from __future__ import annotations

from crm_core.channel_state import get_channel_state, put_channel_state
from crm_core.db import Database
from hub.messages import utcnow

__all__ = ["HubChannelState"]


class HubChannelState:
    """One channel's keys; every hub process sees the same values."""

    def __init__(self, db: Database, channel: str) -> None:
        self._db = db
        self._channel = channel

    async def get(self, key: str) -> str | None:
        async with self._db.reader.connect() as conn:
            return await get_channel_state(conn, self._channel, key)

    async def put(self, key: str, value: str) -> None:
        async with self._db.writer.begin() as conn:
            await put_channel_state(conn, self._channel, key, value, utcnow())
