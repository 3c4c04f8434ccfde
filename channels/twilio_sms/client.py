"""Outbound through twilio-python's async client, and media downloads with the account's credentials.

twilio-python hard-codes ``https://api.twilio.com`` (``twilio/rest/api/ApiBase.py``) and its edge/region
options only change the host name, so ``SWITCHBOARD_TWILIO_API_BASE`` is honoured by an http client that
rewrites the base of every URL (shared PROVIDERS.md, "Pointing twilio-python's Client at a local fake API").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from channels.twilio_sms.const import (
    DEFAULT_TIMEOUT,
    MAX_MEDIA_REDIRECTS,
    OUTSIDE_WINDOW_CODE,
    TWILIO_API_BASE,
)
from channels.twilio_sms.parse import split_address
from hub.errors import MediaUnavailable, OutsideServiceWindow, PermanentSendError, TemporarySendError
from hub.messages import MediaContent, OutboundMessage, SendResult

__all__ = ["TwilioBusy", "TwilioSmsClient", "message_params", "rebase", "retry_after_seconds"]

log = logging.getLogger(__name__)


class TwilioBusy(Exception):
    """Twilio answered 429 or 5xx: retry later (twilio-python's own exception drops Retry-After)."""

    def __init__(self, status: int, retry_after: float | None, code: str | None, detail: str) -> None:
        super().__init__(f"Twilio answered {status}: {detail}")
        self.status = status
        self.retry_after = retry_after
        self.code = code


def rebase(url: str, api_base: str) -> str:
    """``url`` with Twilio's API base replaced by ``api_base`` (a proxy or a fake)."""
    if url.startswith(TWILIO_API_BASE + "/"):
        return api_base.rstrip("/") + url[len(TWILIO_API_BASE) :]
    return url


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_body(text: str) -> tuple[str | None, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return None, text[:200]
    if not isinstance(data, dict):
        return None, text[:200]
    code = data.get("code")
    return (str(code) if code is not None else None), str(data.get("message") or data.get("title") or "")


class _ApiBaseHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio-python's aiohttp client aimed at ``api_base``, with a timeout on every request."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._api_base = api_base

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (twilio-python's signature, called by it)
        allow_redirects: bool = False,
    ) -> Response:
        # Basic auth as a header: aiohttp deprecates its ``auth`` argument, which the base class would use.
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        # The base class ignores its own timeout when the caller passes none: apply it here.
        response = await super().request(
            method,
            rebase(url, self._api_base),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )
        status = int(response.status_code)
        if status == 429 or status >= 500:
            code, detail = _error_body(response.text)
            raise TwilioBusy(status, retry_after_seconds(response.headers.get("Retry-After")), code, detail)
        return response


def _sender(message: OutboundMessage, default_from: str | None, service_sid: str | None) -> dict[str, str]:
    """From our number the customer wrote to (``recipient.account``), or its Messaging Service; else the
    configured sender (the account is the Account SID when the inbound webhook named neither).

    A WhatsApp recipient (``whatsapp:+…``) must be answered from ``whatsapp:<our number>``.
    """
    prefix = split_address(message.recipient.external_id)[0]
    account = message.recipient.account
    if account.startswith("MG"):
        return {"messaging_service_sid": account}
    if not account.startswith("AC"):  # a number or short code of ours, not the account-SID fallback
        return {"from_": prefix + account}
    if default_from:
        return {"from_": prefix + split_address(default_from)[1]}
    if service_sid:
        return {"messaging_service_sid": service_sid}
    raise PermanentSendError(
        "no sender: set SWITCHBOARD_TWILIO_FROM or SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID",
        code="no_sender",
    )


def _template(template: Mapping[str, Any]) -> dict[str, str]:
    """``{"content_sid", "variables"}`` as Twilio's ``ContentSid`` + ``ContentVariables`` (JSON)."""
    content_sid = template.get("content_sid")
    variables = template.get("variables")
    if not isinstance(content_sid, str) or not content_sid:
        raise PermanentSendError("a Twilio template needs a content_sid", code="bad_template")
    if variables is not None and not isinstance(variables, Mapping):
        raise PermanentSendError("template variables must be an object", code="bad_template")
    params = {"content_sid": content_sid}
    if variables:
        params["content_variables"] = json.dumps({str(k): str(v) for k, v in variables.items()})
    return params


def message_params(
    message: OutboundMessage,
    *,
    default_from: str | None,
    service_sid: str | None,
    status_callback: str | None,
) -> dict[str, Any]:
    """Keyword arguments of ``messages.create_async`` for one reply."""
    params: dict[str, Any] = {"to": message.recipient.external_id}
    params.update(_sender(message, default_from, service_sid))
    if message.template is not None:
        params.update(_template(message.template))
    if message.text:
        params["body"] = message.text
    if message.attachments:
        if any(not a.url for a in message.attachments):
            raise PermanentSendError("Twilio sends media by public URL only", code="attachment_without_url")
        params["media_url"] = [a.url for a in message.attachments]
    if not {"body", "media_url", "content_sid"} & params.keys():
        raise PermanentSendError("nothing to send: no text, media or template", code="empty_message")
    if status_callback:
        params["status_callback"] = status_callback
    return params


def _refusal(status: int, code: object, detail: str) -> Exception:
    """Map a Twilio REST error onto the hub's taxonomy."""
    provider_code = str(code) if code is not None else str(status)
    if provider_code == str(OUTSIDE_WINDOW_CODE):
        return OutsideServiceWindow(detail, provider_code=provider_code)
    if status == 429 or status >= 500:
        return TemporarySendError(detail, provider_code=provider_code)
    return PermanentSendError(detail, provider_code=provider_code)


class TwilioSmsClient:
    """Sends messages and downloads media for one Twilio account."""

    def __init__(
        self, account_sid: str, auth_token: str, *, api_base: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base.rstrip("/")
        self._timeout = timeout
        self._twilio: Any = None
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> Any:
        # Opened on first use inside the running loop: the aiohttp session belongs to it.
        if self._twilio is None:
            http_client = _ApiBaseHttpClient(self._api_base, self._timeout)
            client = Client(self._account_sid, self._auth_token, http_client=http_client)
            # Client reads TWILIO_EDGE/TWILIO_REGION from os.environ; either would move the host off api_base.
            client.edge = client.region = None
            self._twilio = client
        return self._twilio

    async def close(self) -> None:
        """Close the REST and media sessions."""
        if self._twilio is not None:
            await self._twilio.http_client.close()
            self._twilio = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_message(self, params: Mapping[str, Any]) -> SendResult:
        """``POST …/Messages.json``; errors mapped to Temporary/Permanent/OutsideServiceWindow."""
        try:
            created = await self._client().messages.create_async(**params)
        except TwilioBusy as err:
            raise TemporarySendError(str(err), retry_after=err.retry_after, provider_code=err.code) from err
        except TwilioRestException as err:
            raise _refusal(int(err.status), err.code, str(err.msg)) from err
        except TwilioServiceException as err:
            raise _refusal(int(err.status), err.code, f"{err.title}: {err.detail}") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TemporarySendError(f"Twilio unreachable: {err!r}") from err
        return SendResult(external_message_id=str(created.sid))

    def _media_url(self, url: str) -> str:
        # Credentials go to Twilio's API (or the configured stand-in) only, never to another host.
        rebased = rebase(url, self._api_base)
        if not rebased.startswith(self._api_base + "/"):
            raise MediaUnavailable("not a Twilio media URL: refusing to send credentials elsewhere")
        return rebased

    async def fetch_media(self, url: str, *, max_bytes: int, content_type: str) -> MediaContent:
        """Download ``MediaUrl{N}`` with Basic auth, following Twilio's redirect to its media store."""
        target = self._media_url(url)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        headers = {"Authorization": aiohttp.encode_basic_auth(self._account_sid, self._auth_token)}
        try:
            # aiohttp drops the credentials when a redirect leaves the origin (Twilio's goes to its CDN).
            async with self._session.get(
                target, headers=headers, max_redirects=MAX_MEDIA_REDIRECTS
            ) as response:
                if response.status != 200:
                    raise MediaUnavailable(f"Twilio answered {response.status} for the media")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise MediaUnavailable(f"media is {response.content_length} bytes, over {max_bytes}")
                content = await _read_at_most(response, max_bytes)
                filename = response.content_disposition.filename if response.content_disposition else None
                return MediaContent(content, response.headers.get("Content-Type") or content_type, filename)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"media download failed: {err!r}") from err


async def _read_at_most(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise MediaUnavailable(f"media is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
