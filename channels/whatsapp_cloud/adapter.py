"""Wiring of the WhatsApp Cloud channel: the webhook (GET handshake, POST events), send and media."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from channels.whatsapp_cloud.client import GraphClient
from channels.whatsapp_cloud.const import (
    DEFAULT_GRAPH_BASE,
    DEFAULT_GRAPH_VERSION,
    DEFAULT_TIMEOUT_SECONDS,
    ENV_PREFIX,
    REPLY_WINDOW,
    SIGNATURE_HEADER,
)
from channels.whatsapp_cloud.outbound import graph_recipient, message_payloads
from channels.whatsapp_cloud.parse import parse_webhook, verify_challenge, verify_signature
from hub.contract import Channel, ChannelContext
from hub.errors import ConfigError, MediaUnavailable, PermanentSendError, SwitchboardError
from hub.messages import (
    Attachment,
    ExternalIdentity,
    InboundMessage,
    KeptAside,
    MediaContent,
    OutboundMessage,
    SendResult,
    utcnow,
)

__all__ = ["WhatsAppCloudChannel", "WhatsAppCloudSettings"]

log = logging.getLogger(__name__)

_VERSION = re.compile(r"v[0-9]+\.[0-9]+")


@dataclass(frozen=True, slots=True)
class WhatsAppCloudSettings:
    """``SWITCHBOARD_WHATSAPP_*``: ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, PHONE_NUMBER_ID (required),
    GRAPH_BASE, GRAPH_VERSION, TIMEOUT_SECONDS."""

    access_token: str
    app_secret: str
    verify_token: str
    phone_number_id: str
    graph_base: str = DEFAULT_GRAPH_BASE
    graph_version: str = DEFAULT_GRAPH_VERSION
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


def _check(settings: WhatsAppCloudSettings) -> None:
    """Refuse to start on a setting that can only fail later, naming it."""
    prefix = f"SWITCHBOARD_{ENV_PREFIX}_"
    if not settings.phone_number_id.isdigit():
        raise ConfigError(prefix + "PHONE_NUMBER_ID", "must be the numeric id Meta shows, not the number")
    if not settings.graph_base.startswith(("https://", "http://")):
        raise ConfigError(prefix + "GRAPH_BASE", "must be an http(s) URL")
    if not _VERSION.fullmatch(settings.graph_version):
        raise ConfigError(prefix + "GRAPH_VERSION", "must look like v21.0")
    if settings.timeout_seconds <= 0:
        raise ConfigError(prefix + "TIMEOUT_SECONDS", "must be positive")


class WhatsAppCloudChannel(Channel[WhatsAppCloudSettings]):
    """WhatsApp through Meta's Cloud API: signed webhooks in, Graph API messages out."""

    keyword_opt_out = True

    def __init__(self, name: str, settings: WhatsAppCloudSettings, context: ChannelContext) -> None:
        _check(settings)
        super().__init__(name, settings, context)
        self._graph = GraphClient(
            graph_base=settings.graph_base,
            version=settings.graph_version,
            access_token=settings.access_token,
            timeout=settings.timeout_seconds,
        )

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return [web.get("", self.verify), web.post("", self.receive)]

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo ``hub.challenge`` when the verify token is ours."""
        challenge = verify_challenge(request.query, self.settings.verify_token)
        return web.Response(text=challenge, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """Verify, parse, store every item, and answer 200 only once all of it is committed."""
        body = await request.read()
        verify_signature(self.settings.app_secret, body, request.headers.get(SIGNATURE_HEADER))
        received_at = utcnow()
        parsed = parse_webhook(body, default_account=self.settings.phone_number_id, received_at=received_at)
        kept = [*parsed.kept, *await self._ingest(parsed.messages, body, received_at)]
        if parsed.updates:
            await self.context.inbox.record_delivery(parsed.updates)
        if kept:
            for item in kept:
                log.warning("whatsapp_cloud: kept aside %s: %s", item.provider_id or "(no id)", item.reason)
            # Last, so that a failure above (answered 5xx, redelivered by Meta) keeps nothing twice.
            await self.context.inbox.keep_aside(kept)
        return web.json_response(
            {"messages": len(parsed.messages), "statuses": len(parsed.updates), "kept_aside": len(kept)}
        )

    async def _ingest(
        self, messages: Sequence[InboundMessage], body: bytes, received_at: datetime
    ) -> list[KeptAside]:
        """Store each message on its own, so that one the store refuses cannot sink the others."""
        results = await asyncio.gather(
            *(self.context.inbox.ingest([message]) for message in messages), return_exceptions=True
        )
        kept = []
        for message, result in zip(messages, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            temporary = isinstance(result, SwitchboardError) and result.status >= 500
            if temporary or not isinstance(result, Exception):
                raise result  # the store is down: 5xx, Meta redelivers, stored ones come back as duplicates
            log.error("whatsapp_cloud: could not store %s", message.external_message_id, exc_info=result)
            reason = result.code if isinstance(result, SwitchboardError) else type(result).__name__
            kept.append(
                KeptAside(
                    channel=self.name,
                    account=message.identity.account,
                    reason=f"not stored: {reason}",
                    body=body,
                    content_type="application/json",
                    received_at=received_at,
                    provider_id=message.external_message_id,
                )
            )
        return kept

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send a reply (text, template or media by link); the id of its first part."""
        phone_number_id, to = graph_recipient(message.recipient)
        payloads = message_payloads(message, to)
        first: str | None = None
        for index, payload in enumerate(payloads):
            try:
                wamid = await self._graph.send_message(phone_number_id, payload)
            except SwitchboardError as err:
                if first is None:
                    raise
                # Part of the reply is out: a retry would send it twice, so this failure is final.
                raise PermanentSendError(
                    f"sent {index} of {len(payloads)} parts (first {first}), then: {err.detail}",
                    provider_code=getattr(err, "provider_code", None),
                ) from err
            first = first or wamid
        if first is None:  # message_payloads never returns an empty list
            raise PermanentSendError("nothing was sent")
        return SendResult(external_message_id=first)

    def reply_window(self, recipient: ExternalIdentity) -> timedelta | None:
        return REPLY_WINDOW

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        """Resolve the media id through Graph, then download the file with the bearer token."""
        if not attachment.media_id:
            raise MediaUnavailable("only WhatsApp media ids can be fetched")
        info = await self._graph.media_info(attachment.media_id)
        if info.file_size is not None and info.file_size > max_bytes:
            raise MediaUnavailable(f"media is {info.file_size} bytes, over {max_bytes}")
        content, content_type = await self._graph.download(info.url, max_bytes=max_bytes)
        return MediaContent(
            content=content,
            content_type=info.mime_type or content_type or attachment.content_type,
            filename=attachment.filename,
        )

    async def close(self) -> None:
        await self._graph.close()
