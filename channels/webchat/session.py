"""One browser's WebSocket from ``hello`` to close: identify, replay history, store messages, push replies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from channels.webchat.const import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_HELLO_TIMEOUT,
    CLOSE_INTERNAL_ERROR,
    CLOSE_UNAUTHORIZED,
    HISTORY_LIMIT,
    PAYLOAD_REPLY,
)
from channels.webchat.parse import (
    Hello,
    Ping,
    Read,
    VisitorText,
    ack_frame,
    error_frame,
    frame_from_payload,
    inbound_message,
    parse_frame,
    topic,
    visitor_message_payload,
    welcome_frame,
)
from channels.webchat.ratelimit import TokenBuckets
from channels.webchat.visitor import Visitor, identify
from hub.contract import Broadcast, Inbox
from hub.errors import BadRequest, Forbidden, SwitchboardError, Unauthorized
from hub.messages import DeliveryStatus, DeliveryUpdate, utcnow

__all__ = ["Session", "SessionConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What every session of one channel shares."""

    channel: str
    account: str
    secret: str
    identity_secret: str | None
    max_message_length: int
    inbox: Inbox
    broadcast: Broadcast | None
    message_limits: TokenBuckets
    hello_timeout: float


class Session:
    """Serves one prepared WebSocket until either side closes it."""

    def __init__(self, ws: web.WebSocketResponse, config: SessionConfig) -> None:
        self._ws = ws
        self._config = config
        self._replies_shown: set[str] = set()
        """Ids of our messages this socket has shown: the only ones it may mark read."""
        self._delivered: list[str] = []
        """Replies pushed here whose ``delivered`` status is not recorded yet (see ``_flush_delivered``)."""
        self._sent_here: set[str] = set()
        """Ids of the visitor's messages stored through this socket: not echoed back to it."""

    async def run(self) -> None:
        """Identify the visitor, then serve frames both ways until the socket closes."""
        visitor = await self._handshake()
        if visitor is None:
            return
        # Subscribe before reading history, so a reply stored in between is pushed (the widget drops
        # what it already shows, by interaction id).
        async with self._feed(visitor) as feed:
            history = await self._config.inbox.history(visitor.identity, limit=HISTORY_LIMIT)
            self._replies_shown.update(i.interaction_id for i in history if i.direction == "out")
            await self._ws.send_str(
                welcome_frame(
                    visitor.token,
                    user=visitor.user,
                    history=history,
                    max_text=self._config.max_message_length,
                )
            )
            pusher = None if feed is None else asyncio.create_task(self._push(feed), name="webchat-push")
            try:
                await self._read(visitor)
            finally:
                if pusher is not None:
                    pusher.cancel()
                    await asyncio.gather(pusher, return_exceptions=True)

    async def _handshake(self) -> Visitor | None:
        try:
            async with asyncio.timeout(self._config.hello_timeout):
                message = await self._ws.receive()
        except TimeoutError:
            await self._refuse("hello_expected", "no hello frame in time", CLOSE_HELLO_TIMEOUT)
            return None
        if message.type != WSMsgType.TEXT:
            if message.type == WSMsgType.BINARY:
                await self._refuse("bad_frame", "frames are JSON text", CLOSE_BAD_REQUEST)
            return None
        try:
            frame = parse_frame(message.data, max_text=self._config.max_message_length)
            if not isinstance(frame, Hello):
                raise BadRequest("the first frame must be hello", code="hello_expected")
            return identify(
                frame,
                account=self._config.account,
                secret=self._config.secret,
                identity_secret=self._config.identity_secret,
            )
        except BadRequest as err:
            await self._refuse(err.code, err.detail, CLOSE_BAD_REQUEST)
        except Unauthorized as err:
            await self._refuse(err.code, err.detail, CLOSE_UNAUTHORIZED)
        except Forbidden as err:
            await self._refuse(err.code, err.detail, CLOSE_FORBIDDEN)
        return None

    async def _refuse(self, code: str, detail: str, close_code: int) -> None:
        await self._ws.send_str(error_frame(code, detail))
        await self._ws.close(code=close_code, message=code.encode())

    def _feed(self, visitor: Visitor) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes] | None]:
        if self._config.broadcast is None:
            return contextlib.nullcontext(None)
        return self._config.broadcast.subscribe(topic(visitor.identity))

    async def _read(self, visitor: Visitor) -> None:
        async for message in self._ws:
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.ERROR:
                    return
                await self._ws.send_str(error_frame("bad_frame", "frames are JSON text"))
                continue
            await self._flush_delivered()
            try:
                frame = parse_frame(message.data, max_text=self._config.max_message_length)
            except BadRequest as err:
                await self._ws.send_str(error_frame(err.code, err.detail))
                continue
            if isinstance(frame, VisitorText):
                await self._store(visitor, frame)
            elif isinstance(frame, Ping):
                await self._ws.send_str('{"type":"pong"}')
            elif isinstance(frame, Read):
                await self._mark_read(frame)
            else:
                await self._ws.send_str(error_frame("bad_frame", "hello was already received"))

    async def _store(self, visitor: Visitor, frame: VisitorText) -> None:
        wait = self._config.message_limits.take(visitor.identity.external_id)
        if wait is not None:
            await self._ws.send_str(
                error_frame(
                    "rate_limited",
                    "too many messages: wait before sending more",
                    client_id=frame.client_id,
                    retry_after=math.ceil(wait),
                )
            )
            return
        now = utcnow()
        message = inbound_message(
            visitor.identity,
            visitor.visitor_id,
            frame,
            received_at=now,
            hints=visitor.hints,
            page=visitor.page,
        )
        try:
            [result] = await self._config.inbox.ingest([message])
        except SwitchboardError as err:
            # Not stored (the hub is shutting down or its store is down): the widget keeps the message
            # and sends it again with the same client_id.
            log.warning("webchat: message %s not stored: %s", message.external_message_id, err.detail)
            await self._ws.send_str(error_frame(err.code, err.detail, client_id=frame.client_id, retry=True))
            return
        self._sent_here.add(result.interaction_id)
        await self._ws.send_str(
            ack_frame(frame.client_id, result.interaction_id, duplicate=result.duplicate, at=now)
        )
        if not result.duplicate and self._config.broadcast is not None:
            payload = visitor_message_payload(result.interaction_id, frame, at=now)
            await self._config.broadcast.publish(topic(visitor.identity), payload)

    async def _mark_read(self, frame: Read) -> None:
        ids = [i for i in dict.fromkeys(frame.ids) if i in self._replies_shown]
        await self._record(ids, DeliveryStatus.READ)

    async def _flush_delivered(self) -> None:
        # Recorded when the browser next speaks (it pings every 25 s), not at push time: the push happens
        # inside send(), before the outbox has stored the reply's id, and the hub drops a report on an id
        # it does not know yet. Not after close either: aiohttp cancels the handler once the socket is gone.
        ids, self._delivered = self._delivered, []
        await self._record(ids, DeliveryStatus.DELIVERED)

    async def _record(self, ids: list[str], status: DeliveryStatus) -> None:
        if not ids:
            return
        now = utcnow()
        updates = [DeliveryUpdate(self._config.channel, i, status, now) for i in ids]
        try:
            await self._config.inbox.record_delivery(updates)
        except SwitchboardError as err:
            # A status is a nicety; the reply itself is stored and shown.
            log.warning("webchat: %s status of %s not recorded: %s", status.value, ids, err.detail)

    async def _push(self, feed: AsyncIterator[bytes]) -> None:
        try:
            async for payload in feed:
                push = frame_from_payload(payload)
                if push is None:
                    log.warning("webchat: ignored a broadcast payload of an unknown kind")
                    continue
                if push.interaction_id in self._sent_here:
                    continue
                await self._ws.send_str(push.frame)
                if push.kind == PAYLOAD_REPLY:
                    self._replies_shown.add(push.interaction_id)
                    self._delivered.append(push.interaction_id)
        except ConnectionResetError:
            return  # the socket is closing; the reader ends the session
        except Exception:  # task boundary: a socket that cannot be pushed to is closed, the widget reconnects
            log.exception("webchat: pushing to a socket failed")
            await self._ws.close(code=CLOSE_INTERNAL_ERROR)
