"""Web chat test helpers: a channel on a plain aiohttp app, and a browser-like socket client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.webchat import WebchatChannel, WebchatSettings
from hub.broadcast import MemoryBroadcast
from hub.contract import ChannelContext
from tests.channels.conftest import RecordingInbox

ORIGIN = "https://shop.example"
SECRET = "visitor-secret-0123456789"
IDENTITY_SECRET = "identity-secret-0123456789"
SETTINGS = WebchatSettings(origins=(ORIGIN,), secret=SECRET, identity_secret=IDENTITY_SECRET)
WAIT = 5.0
"""Seconds a test waits for a frame before failing (never slept)."""


class Chat:
    """A test client's view of the web chat: sockets opened as a browser on ORIGIN would."""

    def __init__(self, client: TestClient[Any, Any], channel: WebchatChannel) -> None:
        self.client = client
        self.channel = channel

    async def open(
        self, *, origin: str = ORIGIN, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> aiohttp.ClientWebSocketResponse:
        """A raw socket, before hello."""
        headers = {"Origin": origin} if headers is None else headers
        return await self.client.ws_connect("/webchat/ws", headers=headers, **kwargs)

    async def hello(
        self, token: str | None = None, identity: dict[str, str] | None = None
    ) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
        """A socket after hello, and the server's first answer (welcome or error)."""
        ws = await self.open()
        await ws.send_json({"type": "hello", "token": token, "identity": identity, "page": ORIGIN + "/p"})
        return ws, await receive(ws)


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next JSON frame; fails the test on a close or after WAIT seconds."""
    message = await ws.receive(timeout=WAIT)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    frame: dict[str, Any] = json.loads(message.data)
    return frame


async def closed(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Wait for the server to close the socket; its close code."""
    message = await ws.receive(timeout=WAIT)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING), (
        message
    )
    return ws.close_code


def app_for(channel: WebchatChannel) -> web.Application:
    """A bare app mounting the channel's public routes under /webchat, as the hub does."""
    app = web.Application()
    browser = web.Application()
    browser.router.add_routes(channel.public_routes())
    app.add_subapp("/webchat", browser)
    return app


MakeChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
async def make_chat(aiohttp_client: Any, recording_inbox: RecordingInbox) -> AsyncIterator[MakeChat]:
    """``chat = await make_chat(message_burst=2, broadcast=None)``: a channel with these settings, served."""
    channels: list[WebchatChannel] = []

    async def make(*, broadcast: Any = ..., **settings: Any) -> Chat:
        context = ChannelContext(
            inbox=recording_inbox,
            public_url=None,
            broadcast=MemoryBroadcast() if broadcast is ... else broadcast,
        )
        channel = WebchatChannel("webchat", replace(SETTINGS, **settings), context)
        channels.append(channel)
        return Chat(await aiohttp_client(app_for(channel)), channel)

    yield make
    for channel in channels:
        await channel.close()


@pytest.fixture
async def chat(make_chat: MakeChat) -> Chat:
    """A channel with the default test settings."""
    return await make_chat()
