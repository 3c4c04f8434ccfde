"""A small stand-in for Twilio's REST API on 127.0.0.1, and signed webhook builders, for tests.

Speaks what twilio-python's ``messages.create_async`` and a media download need (shared PROVIDERS.md,
"Pointing twilio-python's Client at a local fake API"):

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: HTTP Basic ``AccountSid:AuthToken``, form
  fields ``To``, ``From`` or ``MessagingServiceSid``, ``Body``, repeated ``MediaUrl``, ``ContentSid``,
  ``ContentVariables``, ``StatusCallback``; answers 201 with a Message JSON, or Twilio's error JSON
  ``{"code", "message", "more_info", "status"}``.
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}``: Basic auth, then a
  307 to ``/cdn/{MediaSid}`` like Twilio's redirect to its media store.

Use::

    async with FakeTwilio() as fake:  # or: await fake.start() ... await fake.close()
        env = {**fake.env(), "SWITCHBOARD_PUBLIC_URL": "http://hub.test"}  # SWITCHBOARD_TWILIO_* for the hub
        fake.fail_next(429, code=20429, retry_after=7)  # queue errors, first in first out
        ...  # the hub sends through the fake
        fake.sent[-1].form["Body"], fake.sent[-1].sid  # what arrived
        request = fake.status_callback(fake.sent[-1].sid, "delivered")  # signed, for its StatusCallback URL
        await client.post(request.path_qs, data=request.body, headers=request.headers)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import BasicAuth, hdrs, web
from multidict import MultiDict

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "FakeTwilio",
    "RecordedRequest",
    "SignedRequest",
    "signed_form",
    "signed_json",
    "twilio_signature",
]

ACCOUNT_SID = "AC" + "f0" * 16
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
API_VERSION = "2010-04-01"
TWILIO_API_BASE = "https://api.twilio.com"

Fields = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    return list(fields.items()) if isinstance(fields, Mapping) else list(fields)


def twilio_signature(url: str, fields: Fields, token: str, *, algorithm: str = "HMAC_SHA1") -> str:
    """``X-Twilio-Signature`` computed from Twilio's description, independently of twilio-python.

    URL, then for each field name in sorted order each of its distinct values in sorted order, name and
    value concatenated; base64 of the HMAC keyed with the token (SHA-1, or SHA-256 for SharedKey webhooks).
    """
    values: dict[str, set[str]] = {}
    for name, value in _pairs(fields):
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hashlib.sha256 if algorithm == "HMAC_SHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(token.encode(), data.encode(), digest).digest()).decode()


@dataclass(frozen=True)
class SignedRequest:
    """A webhook Twilio would send: POST ``body`` with ``headers`` to ``url``."""

    url: str
    body: bytes
    headers: dict[str, str]

    @property
    def path_qs(self) -> str:
        """The path and query string, for an aiohttp TestClient."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def signed_form(
    url: str, fields: Fields, token: str = AUTH_TOKEN, *, body: bytes | None = None
) -> SignedRequest:
    """A form webhook signed over ``fields`` (``body`` defaults to their urlencoding)."""
    pairs = _pairs(fields)
    return SignedRequest(
        url=url,
        body=urlencode(pairs).encode() if body is None else body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, pairs, token),
        },
    )


def signed_json(url: str, body: bytes, token: str = AUTH_TOKEN) -> SignedRequest:
    """A JSON webhook: ``bodySHA256`` joins the URL's query and the signature covers the URL alone."""
    joiner = "&" if urlsplit(url).query else "?"
    signed_url = f"{url}{joiner}bodySHA256={hashlib.sha256(body).hexdigest()}"
    return SignedRequest(
        url=signed_url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Twilio-Signature": twilio_signature(signed_url, [], token),
        },
    )


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: Mapping[str, str]
    form: MultiDict[str]
    authorized: bool
    sid: str | None = None
    """The Message SID the fake answered with, for a created message."""


@dataclass(frozen=True)
class _Failure:
    status: int
    code: int | None
    message: str
    retry_after: str | None


@dataclass
class _Media:
    content: bytes
    content_type: str
    chunked: bool


@dataclass
class FakeTwilio:
    """Twilio's Messages and Media endpoints for one account, in-process."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _media: dict[str, _Media] = field(default_factory=dict)
    cdn_base: str | None = None
    """Where media redirects go (another origin, like Twilio's media store); None: this fake's ``/cdn``."""
    _runner: web.AppRunner | None = None
    _base_url: str | None = None

    # -- control -------------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        code: int | None = None,
        message: str = "fake failure",
        retry_after: float | str | None = None,
    ) -> None:
        """Answer the next ``Messages.json`` POST with this error (queued, first in first out)."""
        self._failures.append(
            _Failure(status, code, message, None if retry_after is None else str(retry_after))
        )

    def add_media(self, content: bytes, content_type: str, *, chunked: bool = False) -> str:
        """Host a file; returns the ``MediaUrl{N}`` Twilio would send (on api.twilio.com, as Twilio does)."""
        media_sid = "ME" + uuid.uuid4().hex
        self._media[media_sid] = _Media(content, content_type, chunked)
        message_sid = "MM" + uuid.uuid4().hex
        return f"{TWILIO_API_BASE}{self._account_path()}/Messages/{message_sid}/Media/{media_sid}"

    @property
    def sent(self) -> list[RecordedRequest]:
        """Messages the fake accepted (201), oldest first."""
        return [r for r in self.requests if r.sid is not None]

    def env(self, prefix: str = "SWITCHBOARD_TWILIO_") -> dict[str, str]:
        """Settings that aim the hub's Twilio channel at this fake."""
        return {
            f"{prefix}ACCOUNT_SID": self.account_sid,
            f"{prefix}AUTH_TOKEN": self.auth_token,
            f"{prefix}API_BASE": self.base_url,
        }

    def status_callback(
        self,
        message_sid: str,
        status: str,
        *,
        url: str | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> SignedRequest:
        """The signed status callback Twilio would POST for ``message_sid``.

        ``url`` defaults to the ``StatusCallback`` given when that message was sent.
        """
        sent = next((r for r in self.sent if r.sid == message_sid), None)
        target = url or (sent.form.get("StatusCallback") if sent is not None else None)
        if not target:
            raise ValueError(f"no StatusCallback known for {message_sid}: pass url=")
        fields = [
            ("AccountSid", self.account_sid),
            ("ApiVersion", API_VERSION),
            ("From", sent.form.get("From", "") if sent is not None else ""),
            ("MessageSid", message_sid),
            ("MessageStatus", status),
            ("SmsSid", message_sid),
            ("SmsStatus", status),
            ("To", sent.form.get("To", "") if sent is not None else ""),
        ]
        if error_code is not None:
            fields.append(("ErrorCode", str(error_code)))
        if error_message is not None:
            fields.append(("ErrorMessage", error_message))
        return signed_form(target, fields, self.auth_token)

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; the fake must be started."""
        if self._base_url is None:
            raise RuntimeError("FakeTwilio is not started")
        return self._base_url

    def app(self) -> web.Application:
        """The aiohttp app, for ``aiohttp_server(fake.app())`` or your own runner."""
        app = web.Application()
        base = "/2010-04-01/Accounts/{account}"
        app.router.add_post(base + "/Messages.json", self._create_message)
        app.router.add_get(base + "/Messages/{message}/Media/{media}", self._media_redirect)
        app.router.add_get("/cdn/{media}", self._media_content)
        return app

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port; returns the base URL."""
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        return self._base_url

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTwilio:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- handlers -------------------------------------------------------------------------------------------

    def _account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get(hdrs.AUTHORIZATION)
        if not header:
            return False
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            return False
        return (auth.login, auth.password) == (self.account_sid, self.auth_token)

    def _error(
        self, status: int, code: int | None, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(body, status=status, headers=headers)

    async def _create_message(self, request: web.Request) -> web.Response:
        form = MultiDict((await request.post()).items())
        authorized = self._authorized(request) and request.match_info["account"] == self.account_sid
        record = RecordedRequest(request.method, request.path, dict(request.headers), form, authorized)
        if not authorized:
            self.requests.append(record)
            return self._error(401, 20003, "Authenticate")
        if self._failures:
            self.requests.append(record)
            failure = self._failures.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            return self._error(failure.status, failure.code, failure.message, headers)
        problem = _missing_field(form)
        if problem is not None:
            self.requests.append(record)
            return self._error(400, *problem)
        sid = ("MM" if "MediaUrl" in form else "SM") + uuid.uuid4().hex
        self.requests.append(RecordedRequest(record.method, record.path, record.headers, form, True, sid))
        return web.json_response(self._message_json(sid, form), status=201)

    def _message_json(self, sid: str, form: MultiDict[str]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"{self._account_path()}/Messages/{sid}.json"
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "to": form["To"],
            "from": form.get("From"),
            "body": form.get("Body", ""),
            "status": "accepted" if "From" not in form else "queued",
            "num_segments": "1",
            "num_media": str(len(form.getall("MediaUrl", []))),
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "price": None,
            "price_unit": None,
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }

    async def _media_redirect(self, request: web.Request) -> web.Response:
        authorized = self._authorized(request) and request.match_info["account"] == self.account_sid
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), MultiDict(), authorized)
        )
        if not authorized:
            return self._error(401, 20003, "Authenticate")
        if request.match_info["media"] not in self._media:
            return self._error(404, 20404, "The requested resource was not found")
        raise web.HTTPTemporaryRedirect(f"{self.cdn_base or ''}/cdn/{request.match_info['media']}")

    async def _media_content(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), MultiDict(), True)
        )
        media = self._media.get(request.match_info["media"])
        if media is None:
            raise web.HTTPNotFound()
        if not media.chunked:
            return web.Response(body=media.content, content_type=media.content_type)
        response = web.StreamResponse(headers={"Content-Type": media.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(media.content), 1024):
            await response.write(media.content[start : start + 1024])
        await response.write_eof()
        return response


def _missing_field(form: MultiDict[str]) -> tuple[int, str] | None:
    """Twilio's own refusals for an incomplete create (error codes 21604, 21603, 21602)."""
    if not form.get("To"):
        return 21604, "A 'To' phone number is required."
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603, "A 'From' phone number is required."
    if not form.get("Body") and "MediaUrl" not in form and not form.get("ContentSid"):
        return 21602, "Message body is required."
    return None
