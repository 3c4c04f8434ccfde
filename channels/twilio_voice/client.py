"""Calls and recordings through twilio-python's async client, and recording downloads.

twilio-python hard-codes ``https://api.twilio.com``; an http client that rewrites the base of every URL
honours ``SWITCHBOARD_TWILIO_API_BASE`` (shared PROVIDERS.md, "Pointing twilio-python's Client at a local
fake API"). Errors map onto the hub's taxonomy: 429, 5xx, timeouts are temporary; the rest permanent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from twilio.base.exceptions import TwilioRestException  # type: ignore[import-untyped]
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from channels.twilio_voice.const import (
    CURRENT_RECORDING,
    DEFAULT_TIMEOUT,
    MAX_MEDIA_REDIRECTS,
    TWILIO_API_BASE,
)
from hub.errors import MediaUnavailable, PermanentSendError, TemporarySendError
from hub.messages import MediaContent

__all__ = ["TwilioVoiceClient"]

T = TypeVar("T")


class _TwilioBusy(Exception):
    """Twilio answered 429 or 5xx (twilio-python's own exception drops Retry-After)."""

    def __init__(self, status: int, retry_after: float | None, code: str | None, detail: str) -> None:
        super().__init__(f"Twilio answered {status}: {detail}")
        self.retry_after = retry_after
        self.code = code


def _rebase(url: str, api_base: str) -> str:
    if url.startswith(TWILIO_API_BASE + "/"):
        return api_base + url[len(TWILIO_API_BASE) :]
    return url


def _error_body(text: str) -> tuple[str | None, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return None, text[:200]
    if not isinstance(data, dict):
        return None, text[:200]
    code = data.get("code")
    return (str(code) if code is not None else None), str(data.get("message") or "")


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
        headers = dict(headers or {})
        if auth is not None:  # as a header: aiohttp deprecates the ``auth`` argument the base class uses
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        response = await super().request(
            method,
            _rebase(url, self._api_base),
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
            retry_after = response.headers.get("Retry-After")
            seconds = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
            raise _TwilioBusy(status, seconds, code, detail)
        return response


class TwilioVoiceClient:
    """Places and steers calls, pauses recordings, downloads recordings, for one Twilio account."""

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
            client = Client(
                self._account_sid,
                self._auth_token,
                http_client=_ApiBaseHttpClient(self._api_base, self._timeout),
            )
            client.edge = client.region = None  # TWILIO_EDGE/REGION would move the host off api_base
            self._twilio = client
        return self._twilio

    async def close(self) -> None:
        """Close the REST and download sessions."""
        if self._twilio is not None:
            await self._twilio.http_client.close()
            self._twilio = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, request: Callable[[Any], Awaitable[T]]) -> T:
        try:
            return await request(self._client())
        except _TwilioBusy as err:
            raise TemporarySendError(str(err), retry_after=err.retry_after, provider_code=err.code) from err
        except TwilioRestException as err:
            code = str(err.code) if err.code is not None else str(err.status)
            raise PermanentSendError(str(err.msg), provider_code=code) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TemporarySendError(f"Twilio unreachable: {err!r}") from err

    async def create_call(self, **params: Any) -> str:
        """``POST …/Calls.json``; the new call's SID."""
        call = await self._call(lambda c: c.calls.create_async(**params))
        return str(call.sid)

    async def update_call(self, call_sid: str, *, twiml: str) -> str:
        """``POST …/Calls/{sid}.json`` with new TwiML: the live call leaves what it was doing."""
        call = await self._call(lambda c: c.calls(call_sid).update_async(twiml=twiml))
        return str(call.sid)

    async def set_recording(self, call_sid: str, *, paused: bool) -> str:
        """Pause (skipping the paused audio) or resume the call's active recording; its new status."""
        params = {"status": "paused", "pause_behavior": "skip"} if paused else {"status": "in-progress"}
        recording = await self._call(
            lambda c: c.calls(call_sid).recordings(CURRENT_RECORDING).update_async(**params)
        )
        return str(recording.status)

    async def fetch_media(self, url: str, *, max_bytes: int, content_type: str) -> MediaContent:
        """Download a recording with Basic auth; credentials go to Twilio's API (or its stand-in) only."""
        target = _rebase(url, self._api_base)
        if not target.startswith(self._api_base + "/"):
            raise MediaUnavailable("not a Twilio recording URL: refusing to send credentials elsewhere")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        headers = {"Authorization": aiohttp.encode_basic_auth(self._account_sid, self._auth_token)}
        try:
            async with self._session.get(
                target, headers=headers, max_redirects=MAX_MEDIA_REDIRECTS
            ) as response:
                if response.status != 200:
                    raise MediaUnavailable(f"Twilio answered {response.status} for the recording")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise MediaUnavailable(f"recording is {response.content_length} bytes, over {max_bytes}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaUnavailable(f"recording is over {max_bytes} bytes")
                    chunks.append(chunk)
                return MediaContent(b"".join(chunks), response.headers.get("Content-Type") or content_type)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"recording download failed: {err!r}") from err
