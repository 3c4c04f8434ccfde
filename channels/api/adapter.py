"""Wiring of the API channel: its webhook route and its sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from channels.api.client import ApiCallbackClient, download
from channels.api.const import DEFAULT_ACCOUNT, SIGNATURE_HEADER
from channels.api.parse import parse_message, verify_signature
from hub.contract import Channel, ChannelContext
from hub.errors import PermanentSendError
from hub.messages import Attachment, MediaContent, OutboundMessage, SendResult, utcnow

__all__ = ["ApiChannel", "ApiSettings"]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """``SWITCHBOARD_API_SECRET`` (required), ``_CALLBACK_URL``, ``_ACCOUNT``."""

    secret: str
    callback_url: str | None = None
    account: str = DEFAULT_ACCOUNT


class ApiChannel(Channel[ApiSettings]):
    """For systems with no adapter of their own: signed JSON in, signed JSON callbacks out."""

    def __init__(self, name: str, settings: ApiSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        self._client = (
            ApiCallbackClient(settings.callback_url, settings.secret) if settings.callback_url else None
        )
        self._downloads: aiohttp.ClientSession | None = None

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return [web.post("", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        """Verify, parse, store, then acknowledge with the stored ids."""
        body = await request.read()
        verify_signature(self.settings.secret, body, request.headers.get(SIGNATURE_HEADER))
        message = parse_message(body, account=self.settings.account, received_at=utcnow())
        [result] = await self.context.inbox.ingest([message])
        return web.json_response(
            {
                "interaction_id": result.interaction_id,
                "conversation_id": result.conversation_id,
                "contact_id": result.contact_id,
                "duplicate": result.duplicate,
            }
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        if self._client is None:
            raise PermanentSendError("SWITCHBOARD_API_CALLBACK_URL is not set: replies cannot be delivered")
        return await self._client.send(message)

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        if self._downloads is None:
            self._downloads = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return await download(self._downloads, attachment, max_bytes=max_bytes)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._downloads is not None:
            await self._downloads.close()
