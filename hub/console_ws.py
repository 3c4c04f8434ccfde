"""The console's live channel, ``/ws/console``: every event, on every hub process, as it is published.

The browser authenticates with its session cookie (the same as the REST API) and must come from the hub's
own origin. Events are ids only (ARCHITECTURE.md): the console fetches what changed through the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from crm_core.db import Database
from hub.api.auth import SESSION_COOKIE, TokenCache
from hub.broadcast import BroadcastService
from hub.bus import Event
from hub.errors import Forbidden, Unauthorized

__all__ = ["CONSOLE_TOPIC", "ConsoleFeed"]

log = logging.getLogger(__name__)

CONSOLE_TOPIC = "console"
HEARTBEAT = 25.0


class ConsoleFeed:
    """Fans the hub's events out to the agents' open consoles."""

    def __init__(self, db: Database, broadcast: BroadcastService) -> None:
        self._tokens = TokenCache(db)
        self._broadcast = broadcast
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def announce(self, events: Sequence[Event]) -> None:
        """Tell every process's consoles (the relay calls this after publishing to the bus)."""
        frame = [
            {"id": e.id, "name": e.name, "payload": dict(e.payload), "at": e.occurred_at} for e in events
        ]
        await self._broadcast.publish(CONSOLE_TOPIC, orjson.dumps({"type": "events", "events": frame}))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade an authenticated, same-origin request and stream events until it closes."""
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise Forbidden(
                "the console's socket only opens from the hub's own pages", code="forbidden_origin"
            )
        token = request.cookies.get(SESSION_COOKIE) or request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        )
        principal = await self._tokens.lookup(token) if token else None
        if principal is None:
            raise Unauthorized("sign in first", code="missing_token")
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async with self._broadcast.subscribe(CONSOLE_TOPIC) as frames:
                await ws.send_bytes(orjson.dumps({"type": "hello", "role": principal.role}), compress=None)
                forward = asyncio.create_task(self._forward(ws, frames))
                try:
                    async for message in ws:
                        if message.type == WSMsgType.ERROR:
                            break
                finally:
                    forward.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await forward
        finally:
            self._sockets.discard(ws)
        return ws

    async def _forward(self, ws: web.WebSocketResponse, frames: AsyncIterator[bytes]) -> None:
        async for frame in frames:
            if ws.closed:
                return
            await ws.send_str(frame.decode())

    async def close(self) -> None:
        """Close every console socket (the browser reconnects to another process or later)."""
        await asyncio.gather(
            *(ws.close(code=1001, message=b"server shutdown") for ws in list(self._sockets)),
            return_exceptions=True,
        )
