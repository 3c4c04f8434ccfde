"""Wiring of the Twilio messaging channel: its two webhooks, its sender and its media downloads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from multidict import MultiDict

from channels._twilio.const import UNKNOWN_ACCOUNT
from channels._twilio.parse import Unparseable
from channels._twilio.settings import TwilioCredentials
from channels._twilio.signature import form_fields
from channels._twilio.webhook import request_url, verify_request
from channels.twilio_sms.client import TwilioSmsClient, message_params
from channels.twilio_sms.const import EMPTY_TWIML, STATUS_PATH, WHATSAPP_PREFIX, WHATSAPP_WINDOW
from channels.twilio_sms.parse import (
    account_of,
    is_status_callback,
    message_sid,
    parse_message,
    parse_status,
)
from channels.twilio_sms.signature import is_json_signed, signed_fields
from hub.contract import Channel, ChannelContext
from hub.messages import (
    Attachment,
    ExternalIdentity,
    KeptAside,
    MediaContent,
    OutboundMessage,
    SendResult,
    utcnow,
)

__all__ = ["TwilioSmsChannel", "TwilioSmsSettings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TwilioSmsSettings(TwilioCredentials):
    """The shared ``SWITCHBOARD_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` (required), ``_FROM`` (the default
    sender), ``_API_BASE``, ``_WEBHOOK_SHARED_KEY``, and ``_MESSAGING_SERVICE_SID``."""

    messaging_service_sid: str | None = None
    """Messaging Service to send from when no number is known."""


def _twiml() -> web.Response:
    # An empty TwiML answer: we reply later through the REST API, never inline.
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


class TwilioSmsChannel(Channel[TwilioSmsSettings]):
    """SMS, MMS and WhatsApp through Twilio: signed form webhooks in, REST API out."""

    keyword_opt_out = True

    def __init__(self, name: str, settings: TwilioSmsSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        self._client = TwilioSmsClient(settings.account_sid, settings.auth_token, api_base=settings.api_base)

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return [web.post("", self.receive_message), web.post(STATUS_PATH, self.receive_status)]

    async def receive_message(self, request: web.Request) -> web.Response:
        """Inbound SMS/MMS/WhatsApp: verify, parse, store, then answer with empty TwiML."""
        body, fields = await self._verified(request)
        if fields is None:
            await self._keep_aside(request, body, MultiDict(), "unsupported: JSON body")
        elif is_status_callback(fields):
            await self._record_status(request, body, fields)
        else:
            await self._store_message(request, body, fields)
        return _twiml()

    async def receive_status(self, request: web.Request) -> web.Response:
        """Delivery status callback for a message we sent: verify, record, acknowledge."""
        body, fields = await self._verified(request)
        if fields is None:
            await self._keep_aside(request, body, MultiDict(), "unsupported: JSON body")
        else:
            await self._record_status(request, body, fields)
        return _twiml()

    async def _verified(self, request: web.Request) -> tuple[bytes, MultiDict[str] | None]:
        """The body once its signature checks out, with its form fields (None for a JSON body)."""
        body = await request.read()
        url = request_url(request, self.context.public_url)
        verify_request(request, url=url, fields=signed_fields(url, body), credentials=self.settings)
        return body, None if is_json_signed(url) else form_fields(body)

    async def _store_message(self, request: web.Request, body: bytes, fields: MultiDict[str]) -> None:
        try:
            message = parse_message(fields, received_at=utcnow())
        except Unparseable as err:
            await self._keep_aside(request, body, fields, err.reason)
            return
        await self.context.inbox.ingest([message])

    async def _record_status(self, request: web.Request, body: bytes, fields: MultiDict[str]) -> None:
        try:
            update = parse_status(fields, occurred_at=utcnow())
        except Unparseable as err:
            await self._keep_aside(request, body, fields, err.reason, our_field="From")
            return
        # A status for a message we never sent updates nothing: the hub matches on our stored sid.
        if update is not None:
            await self.context.inbox.record_delivery([update])

    async def _keep_aside(
        self,
        request: web.Request,
        body: bytes,
        fields: MultiDict[str],
        reason: str,
        *,
        our_field: str = "To",
    ) -> None:
        provider_id = message_sid(fields)
        log.warning("%s: keeping aside %s: %s", self.name, provider_id or "a request", reason)
        item = KeptAside(
            channel=self.name,
            account=account_of(fields, our_field=our_field) or UNKNOWN_ACCOUNT,
            reason=reason,
            body=body,
            content_type=request.content_type,
            received_at=utcnow(),
            provider_id=provider_id,
        )
        await self.context.inbox.keep_aside([item])

    def status_callback_url(self) -> str | None:
        """Where Twilio should report delivery of what we send; None when no public URL is known."""
        if not self.context.public_url:
            return None
        return f"{self.context.public_url.rstrip('/')}/webhooks/{self.name}{STATUS_PATH}"

    async def send(self, message: OutboundMessage) -> SendResult:
        params = message_params(
            message,
            default_from=self.settings.from_,
            service_sid=self.settings.messaging_service_sid,
            status_callback=self.status_callback_url(),
        )
        return await self._client.create_message(params)

    def reply_window(self, recipient: ExternalIdentity) -> timedelta | None:
        # https://www.twilio.com/docs/whatsapp/key-concepts#the-customer-service-window (SMS has none).
        return WHATSAPP_WINDOW if recipient.external_id.startswith(WHATSAPP_PREFIX) else None

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        return await self._client.fetch_media(attachment, max_bytes=max_bytes)

    async def close(self) -> None:
        await self._client.close()
