"""Fixtures of the Twilio messaging channel's tests: the fake API, and the channel mounted as the hub does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.twilio_sms import CHANNEL, TwilioSmsChannel, TwilioSmsSettings
from hub.contract import ChannelContext, Inbox
from hub.errors import SwitchboardError
from tests.channels.twilio_sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ChannelClient = tuple[TwilioSmsChannel, TestClient[Any, Any]]
MountChannel = Callable[..., Awaitable[ChannelClient]]


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


def make_channel(inbox: Inbox, *, public_url: str | None = None, **settings: Any) -> TwilioSmsChannel:
    """The channel as the registry builds it, with the fake's credentials unless told otherwise."""
    values: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, **settings}
    channel = CHANNEL.build(CHANNEL.name, TwilioSmsSettings(**values), ChannelContext(inbox, public_url))
    assert isinstance(channel, TwilioSmsChannel)
    return channel


@web.middleware
async def _errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    # The hub's error rendering in miniature (hub.web needs the whole app's state).
    try:
        response: web.StreamResponse = await handler(request)
    except SwitchboardError as err:
        return web.json_response({"error": err.code, "detail": err.detail}, status=err.status)
    return response


@pytest.fixture
def mount_channel(aiohttp_client: Any) -> MountChannel:
    """``channel, client = await mount_channel(inbox, public_url=...)``: routes under /webhooks/twilio_sms."""

    async def mount(inbox: Inbox, **kwargs: Any) -> ChannelClient:
        channel = make_channel(inbox, **kwargs)
        app = web.Application(middlewares=[_errors_as_json])
        webhooks = web.Application()
        webhooks.router.add_routes(channel.webhook_routes())
        app.add_subapp(f"/webhooks/{CHANNEL.name}", webhooks)

        async def close_channel(_app: web.Application) -> None:
            await channel.close()

        app.on_cleanup.append(close_channel)
        return channel, await aiohttp_client(app)

    return mount
