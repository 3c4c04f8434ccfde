"""twilio-python's async client aimed at ``SWITCHBOARD_TWILIO_API_BASE``, its errors in the hub's taxonomy,
and downloads of Twilio media and recordings with the account's credentials.

twilio-python hard-codes ``https://api.twilio.com`` (``twilio/rest/api/ApiBase.py``) and its edge/region
options only change the host name, so the API base is honoured by an http client that rewrites the base of
every URL (shared PROVIDERS.md, "Pointing twilio-python's Client at a local fake API"). 429, 5xx, timeouts
and connection errors are temporary (with ``Retry-After``); other refusals permanent, with Twilio's code.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from channels._twilio.const import (
    DEFAULT_TIMEOUT,
    MAX_MEDIA_REDIRECTS,
    OUTSIDE_WINDOW_CODE,
    TWILIO_API_BASE,
)
from hub.errors import (
    MediaUnavailable,
    OutsideServiceWindow,
    PermanentSendError,
    SwitchboardError,
    TemporarySendError,
)
from hub.messages import Attachment, MediaContent

__all__ = ["TwilioBusy", "TwilioClient", "rebase", "refusal", "retry_after_seconds"]

T = TypeVar("T")


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


def refusal(status: int, code: object, detail: str) -> SwitchboardError:
    """A Twilio REST error in the hub's taxonomy (63016: outside WhatsApp's service window)."""
    provider_code = str(code) if code is not None else str(status)
    if provider_code == str(OUTSIDE_WINDOW_CODE):
        return OutsideServiceWindow(detail, provider_code=provider_code)
    if status == 429 or status >= 500:
        return TemporarySendError(detail, provider_code=provider_code)
    return PermanentSendError(detail, provider_code=provider_code)


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


class TwilioClient:
    """twilio-python's REST client and a download session for one Twilio account, opened on first use."""

    noun: ClassVar[str] = "media"
    """What the downloads are ("media", "recording"), as MediaUnavailable's detail names them."""

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
        """Close the REST and download sessions."""
        if self._twilio is not None:
            await self._twilio.http_client.close()
            self._twilio = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, request: Callable[[Any], Awaitable[T]]) -> T:
        """``request(client)``, with Twilio's errors mapped to Temporary/Permanent/OutsideServiceWindow."""
        try:
            return await request(self._client())
        except TwilioBusy as err:
            raise TemporarySendError(str(err), retry_after=err.retry_after, provider_code=err.code) from err
        except TwilioRestException as err:
            raise refusal(int(err.status), err.code, str(err.msg)) from err
        except TwilioServiceException as err:
            raise refusal(int(err.status), err.code, f"{err.title}: {err.detail}") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TemporarySendError(f"Twilio unreachable: {err!r}") from err

    def _download_url(self, url: str | None) -> str:
        if not url:
            raise MediaUnavailable(f"attachment has no Twilio {self.noun} URL")
        # Credentials go to Twilio's API (or the configured stand-in) only, never to another host.
        rebased = rebase(url, self._api_base)
        if not rebased.startswith(self._api_base + "/"):
            raise MediaUnavailable(f"not a Twilio {self.noun} URL: refusing to send credentials elsewhere")
        return rebased

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        """Download an attachment's Twilio URL with Basic auth, following Twilio's redirect to its store."""
        target, noun = self._download_url(attachment.url), self.noun
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        headers = {"Authorization": aiohttp.encode_basic_auth(self._account_sid, self._auth_token)}
        try:
            # aiohttp drops the credentials when a redirect leaves the origin (Twilio's goes to its CDN).
            async with self._session.get(
                target, headers=headers, max_redirects=MAX_MEDIA_REDIRECTS
            ) as response:
                if response.status != 200:
                    raise MediaUnavailable(f"Twilio answered {response.status} for the {noun}")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise MediaUnavailable(f"{noun} is {response.content_length} bytes, over {max_bytes}")
                content = await _read_at_most(response, max_bytes, noun)
                filename = response.content_disposition.filename if response.content_disposition else None
                content_type = response.headers.get("Content-Type") or attachment.content_type
                return MediaContent(content, content_type, filename)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"{noun} download failed: {err!r}") from err


async def _read_at_most(response: aiohttp.ClientResponse, max_bytes: int, noun: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise MediaUnavailable(f"{noun} is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
