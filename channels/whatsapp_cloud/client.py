"""Graph API I/O for WhatsApp Cloud, over aiohttp (Meta publishes no Python SDK for it).

Send: ``POST {base}/{version}/{phone_number_id}/messages``. Media: ``GET {base}/{version}/{media_id}``
gives a short-lived URL, downloaded with the same bearer token
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#download-media).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.whatsapp_cloud.const import DOWNLOAD_CHUNK
from channels.whatsapp_cloud.content import as_dict, as_id, as_list, as_str
from channels.whatsapp_cloud.outbound import graph_error
from hub.errors import MediaUnavailable, PermanentSendError, TemporarySendError

__all__ = ["GraphClient", "MediaInfo"]

_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What Graph says about a media id: a download URL valid for a few minutes, type and size."""

    url: str
    mime_type: str | None
    file_size: int | None


class GraphClient:
    """The few Graph calls the channel makes, with one bearer token and one session."""

    def __init__(self, *, graph_base: str, version: str, access_token: str, timeout: float) -> None:
        self._base = f"{graph_base.rstrip('/')}/{version}"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> str:
        """POST one message; its wamid, or our error for Graph's refusal."""
        url = f"{self._base}/{phone_number_id}/messages"
        try:
            async with self._client().post(url, json=payload) as response:
                answer = await _json_or_none(response)
                if response.status >= 400:
                    raise graph_error(response.status, answer, response.headers)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TemporarySendError(f"Graph API unreachable: {type(err).__name__}: {err}") from err
        messages = as_list(as_dict(answer).get("messages"))
        wamid = as_id(as_dict(messages[0]).get("id")) if messages else None
        if wamid is None:
            # Accepted but unnamed: retrying could send it twice, so do not.
            raise PermanentSendError(f"Graph API answered {response.status} without a message id")
        return wamid

    async def media_info(self, media_id: str) -> MediaInfo:
        """Look a media id up; MediaUnavailable when Graph does not know it or cannot be reached."""
        if not _MEDIA_ID.fullmatch(media_id):
            raise MediaUnavailable(f"not a WhatsApp media id: {media_id!r}")
        try:
            async with self._client().get(f"{self._base}/{media_id}") as response:
                answer = as_dict(await _json_or_none(response))
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"Graph API unreachable: {type(err).__name__}") from err
        url = as_str(answer.get("url"))
        if status != 200 or not url:
            raise MediaUnavailable(f"Graph API has no media {media_id} (answered {status})")
        size = answer.get("file_size")
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        return MediaInfo(
            url=url,
            mime_type=as_str(answer.get("mime_type")),
            file_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        )

    async def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str | None]:
        """The file at a media URL (bearer token), refused past ``max_bytes``; and its content type."""
        try:
            async with self._client().get(url) as response:
                if response.status != 200:
                    raise MediaUnavailable(f"media download answered {response.status}")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise MediaUnavailable(f"media is {response.content_length} bytes, over {max_bytes}")
                content = bytearray()
                async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                    content.extend(chunk)
                    if len(content) > max_bytes:
                        raise MediaUnavailable(f"media is over {max_bytes} bytes")
                return bytes(content), response.headers.get("Content-Type")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"media download failed: {type(err).__name__}") from err


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:  # not JSON (a proxy's HTML error page): the status alone must do
        return None
