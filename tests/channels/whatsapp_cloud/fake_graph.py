"""A small fake of Meta's Graph API for WhatsApp Cloud, on 127.0.0.1, plus signed webhook builders.

Speaks the documented wire format (https://developers.facebook.com/docs/whatsapp/cloud-api/reference):

- ``POST /{version}/{phone_number_id}/messages`` (bearer token checked): records the JSON body and answers
  ``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid.<n>"}]}``;
- ``GET /{version}/{media_id}``: ``{"url", "mime_type", "sha256", "file_size", "id"}`` for media added with
  :meth:`FakeGraph.add_media`; ``GET /_media/{media_id}`` downloads it (bearer token checked);
- queued failures (:meth:`FakeGraph.fail_next`) answer the next ``/messages`` call with Graph's error JSON
  ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``.

Use: ``async with FakeGraph() as graph:`` then ``SWITCHBOARD_WHATSAPP_GRAPH_BASE=graph.base_url`` and
``SWITCHBOARD_WHATSAPP_ACCESS_TOKEN=graph.access_token``; or mount :meth:`FakeGraph.make_app` on a server
of your own. :func:`signed_status_webhook` builds the signed status callback for a wamid it handed out.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "FakeGraph",
    "GraphRequest",
    "message_webhook",
    "sign",
    "signed",
    "signed_status_webhook",
    "status_webhook",
]

DEFAULT_TOKEN = "fake-access-token"


@dataclass(frozen=True, slots=True)
class GraphRequest:
    """One request the fake received."""

    method: str
    path: str
    authorization: str | None
    json: Any = None

    @property
    def phone_number_id(self) -> str | None:
        """The phone number id of a ``/messages`` call."""
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) == 3 and parts[2] == "messages" else None


@dataclass(slots=True)
class _Media:
    content: bytes
    mime_type: str
    file_size: int | None
    chunked: bool


@dataclass(slots=True)
class _Failure:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    hang: bool = False
    after: int = 0


@dataclass
class FakeGraph:
    """The Graph API, as far as the channel uses it. ``requests`` and ``sent`` record what arrived."""

    access_token: str = DEFAULT_TOKEN
    requests: list[GraphRequest] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Bodies of the ``/messages`` calls that were accepted, in order."""
    media: dict[str, _Media] = field(default_factory=dict)
    _failures: deque[_Failure] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    # -- configuring ------------------------------------------------------------------------------

    def add_media(
        self,
        media_id: str,
        content: bytes,
        mime_type: str = "image/jpeg",
        *,
        file_size: int | None = -1,
        chunked: bool = False,
    ) -> None:
        """Serve ``content`` as ``media_id``; ``file_size=None`` leaves it out of the lookup, ``chunked``
        sends the download without Content-Length."""
        size = len(content) if file_size == -1 else file_size
        self.media[media_id] = _Media(content, mime_type, size, chunked)

    def fail_next(
        self,
        *,
        status: int = 400,
        code: int = 100,
        message: str = "Invalid parameter",
        subcode: int | None = None,
        details: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next ``/messages`` call with this Graph error (or ``body`` as given); with
        ``after=n``, the call after the next ``n`` accepted ones."""
        error: dict[str, Any] = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        if details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        payload = body if body is not None else {"error": error}
        self._failures.append(_Failure(status, payload, headers or {}, after=after))

    def hang_next(self) -> None:
        """Leave the next ``/messages`` call unanswered until the fake stops (a client timeout)."""
        self._failures.append(_Failure(200, None, {}, hang=True))

    # -- serving ----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp app; mount it yourself, or use :meth:`start`."""
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_get("/_media/{media_id}", self._download)
        app.router.add_get("/{version}/{media_id}", self._lookup)
        return app

    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns and keeps ``base_url``."""
        self._runner = web.AppRunner(self.make_app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Release hanging calls and stop serving."""
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGraph:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # -- handlers ---------------------------------------------------------------------------------

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.access_token}":
            return None
        error = {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
        return web.json_response({"error": {**error, "fbtrace_id": "AbCdEfGhIjK"}}, status=401)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(GraphRequest("POST", request.path, request.headers.get("Authorization"), body))
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        if self._failures and self._failures[0].after > 0:
            self._failures[0].after -= 1
        elif self._failures:
            failure = self._failures.popleft()
            if failure.hang:
                await self._release.wait()
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        self.sent.append(body)
        wamid = f"wamid.{next(self._ids)}"
        to = str(body.get("to")) if isinstance(body, dict) else ""
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    async def _lookup(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        self.requests.append(GraphRequest("GET", request.path, request.headers.get("Authorization")))
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        media = self.media.get(media_id)
        if media is None:
            error = {"message": f"Unsupported get request. Object with ID '{media_id}' does not exist"}
            return web.json_response({"error": {**error, "code": 100, "error_subcode": 33}}, status=400)
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "url": f"{request.url.origin()}/_media/{media_id}",
            "mime_type": media.mime_type,
            "sha256": hashlib.sha256(media.content).hexdigest(),
            "id": media_id,
        }
        if media.file_size is not None:
            answer["file_size"] = media.file_size
        return web.json_response(answer)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]
        self.requests.append(GraphRequest("GET", request.path, request.headers.get("Authorization")))
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        media = self.media.get(media_id)
        if media is None:
            return web.Response(status=404)
        if not media.chunked:
            return web.Response(body=media.content, content_type=media.mime_type)
        response = web.StreamResponse(headers={"Content-Type": media.mime_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(media.content), 1024):
            await response.write(media.content[start : start + 1024])
        await response.write_eof()
        return response


# -- webhook bodies, as Meta sends them -----------------------------------------------------------


def sign(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` for ``body`` (computed here independently of the channel's code)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed(app_secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` to POST to ``/webhooks/whatsapp_cloud``."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(app_secret, body)}


def _envelope(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        **value,
    }
    changes = [{"value": value, "field": "messages"}]
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": changes}]}


def status_webhook(
    wamid: str,
    status: str,
    *,
    phone_number_id: str,
    recipient: str = "972501234567",
    timestamp: int = 1_750_000_000,
    error_code: int | None = None,
    error_title: str = "Message undeliverable",
) -> dict[str, Any]:
    """A status webhook (``sent``, ``delivered``, ``read``, ``played``, ``failed``) for one wamid."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient,
    }
    if error_code is not None:
        item["errors"] = [{"code": error_code, "title": error_title, "message": error_title}]
    return _envelope(phone_number_id, {"statuses": [item]})


def signed_status_webhook(
    app_secret: str, wamid: str, status: str, *, phone_number_id: str, **options: Any
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` of a signed status webhook for ``wamid``: drive delivery updates end to end."""
    return signed(app_secret, status_webhook(wamid, status, phone_number_id=phone_number_id, **options))


def message_webhook(
    text: str,
    *,
    phone_number_id: str,
    wamid: str = "wamid.in-1",
    sender: str = "972501234567",
    name: str = "Dana Levi",
    timestamp: int = 1_750_000_000,
) -> dict[str, Any]:
    """An inbound text message webhook from ``sender`` (digits, as Meta sends them)."""
    message = {
        "from": sender,
        "id": wamid,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": text},
    }
    contacts = [{"profile": {"name": name}, "wa_id": sender}]
    return _envelope(phone_number_id, {"contacts": contacts, "messages": [message]})
