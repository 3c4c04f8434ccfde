"""Wiring of the web chat channel: settings, the widget and WebSocket routes, and replies by broadcast."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import AfterValidator, BeforeValidator, Field

from channels.webchat.const import CLOSE_GOING_AWAY, DEFAULT_ACCOUNT, MIN_SECRET_LENGTH
from channels.webchat.parse import reply_payload, topic
from channels.webchat.ratelimit import TokenBuckets
from channels.webchat.session import Session, SessionConfig
from hub.contract import Channel, ChannelContext
from hub.errors import PermanentSendError, TemporarySendError
from hub.messages import OutboundMessage, SendResult, utcnow

__all__ = ["WebchatChannel", "WebchatSettings"]

log = logging.getLogger(__name__)


def _split_origins(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _normalize_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    # Browsers send Origin as scheme://host[:port], lower case, no path (RFC 6454 §6.1).
    out = []
    for origin in origins:
        normalized = origin.lower().rstrip("/")
        parts = urlsplit(normalized)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValueError(f"{origin!r} is not an origin like https://shop.example")
        out.append(normalized)
    if not out:
        raise ValueError("name at least one site origin, like https://shop.example")
    return tuple(out)


Secret = Annotated[str, Field(min_length=MIN_SECRET_LENGTH)]
Positive = Annotated[int, Field(gt=0)]


@dataclass(frozen=True, slots=True)
class WebchatSettings:
    """``SWITCHBOARD_WEBCHAT_ORIGINS`` and ``_SECRET`` (required), ``_IDENTITY_SECRET``, limits."""

    origins: Annotated[tuple[str, ...], BeforeValidator(_split_origins), AfterValidator(_normalize_origins)]
    secret: Secret
    identity_secret: Secret | None = None
    account: str = DEFAULT_ACCOUNT
    messages_per_minute: Positive = 20
    message_burst: Positive = 10
    connections_per_minute: Positive = 60
    connection_burst: Positive = 20
    max_message_length: Annotated[int, Field(gt=0, le=65_536)] = 4000
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 25.0
    hello_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    trust_forwarded_for: bool = False
    """Rate connections by the last ``X-Forwarded-For`` address: set it when one proxy sits in front."""


class WebchatChannel(Channel[WebchatSettings]):
    """A chat widget on the customer's site, talking to the hub over a WebSocket."""

    def __init__(self, name: str, settings: WebchatSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        self._origins = frozenset(settings.origins)
        self._connection_limits = TokenBuckets(
            per_minute=settings.connections_per_minute, burst=settings.connection_burst
        )
        self._session_config = SessionConfig(
            channel=name,
            account=settings.account,
            secret=settings.secret,
            identity_secret=settings.identity_secret,
            max_message_length=settings.max_message_length,
            inbox=context.inbox,
            broadcast=context.broadcast,
            message_limits=TokenBuckets(
                per_minute=settings.messages_per_minute, burst=settings.message_burst
            ),
            hello_timeout=settings.hello_timeout_seconds,
        )
        self._widget = files(__package__).joinpath("widget.js").read_bytes()
        self._widget_etag = '"' + hashlib.sha256(self._widget).hexdigest()[:20] + '"'
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing = False

    @property
    def open_sockets(self) -> int:
        """How many browser sockets this process serves now."""
        return len(self._sockets)

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return ()

    def public_routes(self) -> Sequence[web.RouteDef]:
        return [web.get("/widget.js", self.widget), web.get("/ws", self.connect)]

    async def widget(self, request: web.Request) -> web.Response:
        """The widget script; any site may load it, only the configured origins may open a socket."""
        headers = {
            "Cache-Control": "public, max-age=300",
            "ETag": self._widget_etag,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("If-None-Match") == self._widget_etag:
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=self._widget, content_type="text/javascript", charset="utf-8", headers=headers
        )

    async def connect(self, request: web.Request) -> web.StreamResponse:
        """Check origin and the per-IP rate, upgrade, and serve the socket until it closes."""
        if request.headers.get("Origin", "").lower() not in self._origins:
            return _json_error(403, "forbidden_origin", "this site may not open the chat")
        if self._closing:
            return _json_error(503, "shutting_down", "the hub is shutting down")
        wait = self._connection_limits.take(self._client_address(request))
        if wait is not None:
            retry_after = math.ceil(wait)
            return _json_error(
                429,
                "too_many_connections",
                "too many chat connections from this address",
                retry_after=retry_after,
                headers={"Retry-After": str(retry_after)},
            )
        ws = web.WebSocketResponse(
            heartbeat=self.settings.heartbeat_seconds,
            max_msg_size=self.settings.max_message_length * 12 + 4096,
        )
        if not ws.can_prepare(request).ok:
            return _json_error(400, "websocket_expected", "open this URL as a WebSocket")
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await Session(ws, self._session_config).run()
        except ConnectionResetError:
            pass  # the browser went away mid-frame
        except Exception:  # task boundary: one broken socket must not reach the server
            log.exception("webchat: a socket failed")
            await ws.close(code=1011)
        finally:
            self._sockets.discard(ws)
            await ws.close()
        return ws

    def _client_address(self, request: web.Request) -> str:
        if self.settings.trust_forwarded_for:
            # The last entry is the one our own proxy appended; earlier ones the browser may have forged.
            forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
            if forwarded:
                return forwarded
        return request.remote or "unknown"

    async def send(self, message: OutboundMessage) -> SendResult:
        """Publish the reply on the visitor's topic: every open socket of theirs, on any process, shows it."""
        broadcast = self.context.broadcast
        if broadcast is None:
            raise PermanentSendError("web chat replies need the hub's broadcast, and this hub has none")
        if not message.text and not message.attachments:
            raise PermanentSendError("a web chat reply needs text or attachments")
        payload = reply_payload(message, at=utcnow())
        try:
            await broadcast.publish(topic(message.recipient), payload)
        except Exception as err:  # any failure of the broadcast's transport (Redis) is temporary
            raise TemporarySendError(f"broadcast failed: {err}") from err
        return SendResult(external_message_id=message.interaction_id)

    async def shutdown(self) -> None:
        """The hub is stopping: close sockets now, or their handlers hold the shutdown up."""
        await self.close()

    async def close(self) -> None:
        """Close every open socket (1001: the widget reconnects to another process or later)."""
        self._closing = True
        sockets = list(self._sockets)
        await asyncio.gather(
            *(ws.close(code=CLOSE_GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )


def _json_error(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    # The hub's error shape; answered here because the sub-app may be mounted without the hub's middleware.
    return web.json_response({"error": code, "detail": detail, **extra}, status=status, headers=headers)
