"""Fixtures of the WhatsApp Cloud channel tests: settings, a fake Graph API, the channel on a test app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.whatsapp_cloud import WhatsAppCloudChannel, WhatsAppCloudSettings
from hub.contract import ChannelContext, Inbox
from hub.errors import SwitchboardError
from tests.channels.whatsapp_cloud.fake_graph import DEFAULT_TOKEN, FakeGraph

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "verify-me-7f3a"
PHONE_NUMBER_ID = "1122334455667"
"""The corpus's own ``metadata.phone_number_id``."""
WEBHOOK = "/webhooks/whatsapp_cloud"

SETTINGS = WhatsAppCloudSettings(
    access_token=DEFAULT_TOKEN,
    app_secret=APP_SECRET,
    verify_token=VERIFY_TOKEN,
    phone_number_id=PHONE_NUMBER_ID,
    graph_base="http://127.0.0.1:9",  # nothing listens there; tests that send replace it
    timeout_seconds=5.0,
)


def hub_env(**extra: str) -> dict[str, str]:
    """The environment that enables this channel in a real hub (``make_hub``)."""
    return {
        "SWITCHBOARD_WHATSAPP_ACCESS_TOKEN": DEFAULT_TOKEN,
        "SWITCHBOARD_WHATSAPP_APP_SECRET": APP_SECRET,
        "SWITCHBOARD_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "SWITCHBOARD_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "SWITCHBOARD_WHATSAPP_GRAPH_BASE": "http://127.0.0.1:9",
        **extra,
    }


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as fake:
        yield fake


MakeChannel = Callable[..., WhatsAppCloudChannel]


@pytest.fixture
async def make_channel(recording_inbox: Inbox) -> AsyncIterator[MakeChannel]:
    """``make_channel(inbox=..., **settings)``: a channel on the recording inbox, closed after the test."""
    built: list[WhatsAppCloudChannel] = []

    def make(inbox: Inbox | None = None, **overrides: Any) -> WhatsAppCloudChannel:
        settings = dataclasses.replace(SETTINGS, **overrides)
        channel = WhatsAppCloudChannel(
            "whatsapp_cloud", settings, ChannelContext(inbox or recording_inbox, None)
        )
        built.append(channel)
        return channel

    yield make
    for channel in built:
        await channel.close()


@pytest.fixture
async def sender(make_channel: MakeChannel, graph: FakeGraph) -> WhatsAppCloudChannel:
    """A channel whose Graph API is the fake."""
    return make_channel(graph_base=graph.base_url)


@web.middleware
async def _errors_as_the_hub_renders_them(request: web.Request, handler: Any) -> web.StreamResponse:
    # The hub's own middleware needs the whole app's state; this is its documented contract only.
    try:
        response: web.StreamResponse = await handler(request)
    except SwitchboardError as err:
        return web.json_response({"error": err.code, "detail": err.detail}, status=err.status)
    return response


WebhookClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def webhook_client(make_channel: MakeChannel, aiohttp_client: Any) -> WebhookClient:
    """``await webhook_client(inbox=...)``: the channel's routes mounted as the hub mounts them."""

    async def make(inbox: Inbox | None = None) -> TestClient[Any, Any]:
        channel = make_channel(inbox)
        app = web.Application(middlewares=[_errors_as_the_hub_renders_them])
        webhooks = web.Application()
        webhooks.router.add_routes(channel.webhook_routes())
        app.add_subapp(WEBHOOK, webhooks)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return make
