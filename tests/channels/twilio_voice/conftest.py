"""Fixtures of the phone channel's tests: the channel mounted as the hub mounts it, a fake Twilio REST API,
a small Answerer, and helpers that sign requests in Twilio's wire format and parse the TwiML answered."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.twilio_voice import CHANNEL, TwilioVoiceChannel, TwilioVoiceSettings
from hub.contract import Answerer, ChannelContext, Inbox
from hub.errors import SwitchboardError
from hub.messages import BotAnswer, ExternalIdentity
from tests.channels.twilio_sms.fake_twilio import SignedRequest, signed_form
from tests.channels.twilio_voice.fake_voice import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioVoice

PATH = "/webhooks/twilio_voice"
OURS = "+14155550100"
CUSTOMER = "+972501234567"
CALL_SID = "CA" + "5e" * 16

ChannelClient = tuple[TwilioVoiceChannel, TestClient[Any, Any]]
MountChannel = Callable[..., Awaitable[ChannelClient]]


def call_fields(call_sid: str = CALL_SID, **extra: str) -> list[tuple[str, str]]:
    """The standard fields Twilio sends with every request about an inbound call, plus ``extra``."""
    fields = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": OURS,
        "Caller": CUSTOMER,
        "Direction": "inbound",
        "From": CUSTOMER,
        "To": OURS,
        **extra,
    }
    return list(fields.items())


@dataclass
class FakeAnswerer:
    """An Answerer with canned answers by question (not a model): records what it was asked."""

    answers: dict[str, BotAnswer] = field(default_factory=dict)
    asked: list[tuple[str, ExternalIdentity, str | None]] = field(default_factory=list)
    error: Exception | None = None

    async def __call__(
        self, question: str, *, identity: ExternalIdentity, language: str | None = None
    ) -> BotAnswer | None:
        self.asked.append((question, identity, language))
        if self.error is not None:
            raise self.error
        return self.answers.get(question)


def make_channel(
    inbox: Inbox, *, public_url: str | None = None, answer: Answerer | None = None, **settings: Any
) -> TwilioVoiceChannel:
    """The channel as the registry builds it, with the fake's credentials unless told otherwise."""
    values: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, **settings}
    context = ChannelContext(inbox, public_url, answer=answer)
    channel = CHANNEL.build(CHANNEL.name, TwilioVoiceSettings(**values), context)
    assert isinstance(channel, TwilioVoiceChannel)
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
    """``channel, client = await mount_channel(inbox, public_url=..., voice_record=True, ...)``."""

    async def mount(inbox: Inbox, **kwargs: Any) -> ChannelClient:
        channel = make_channel(inbox, **kwargs)
        app = web.Application(middlewares=[_errors_as_json])
        webhooks = web.Application()
        webhooks.router.add_routes(channel.webhook_routes())
        app.add_subapp(PATH, webhooks)

        async def close_channel(_app: web.Application) -> None:
            await channel.close()

        app.on_cleanup.append(close_channel)
        return channel, await aiohttp_client(app)

    return mount


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilioVoice]:
    fake = FakeTwilioVoice()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def url_of(client: TestClient[Any, Any], path: str) -> str:
    """The absolute URL Twilio would call for ``path`` on this test server."""
    return str(client.make_url(path))


async def post(
    client: TestClient[Any, Any], url: str, fields: Iterable[tuple[str, str]], **headers: str
) -> Any:
    """POST ``fields`` to ``url`` signed as Twilio signs (``url`` may be a full URL: its path is used)."""
    request: SignedRequest = signed_form(url, list(fields))
    return await client.post(request.path_qs, data=request.body, headers={**request.headers, **headers})


async def twiml_of(response: Any) -> ET.Element:
    """The TwiML a webhook answered, parsed; fails unless it is a 200 ``text/xml`` ``<Response>``."""
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "text/xml"
    root = ET.fromstring(text)  # noqa: S314  (our own server's answer)
    assert root.tag == "Response"
    return root
