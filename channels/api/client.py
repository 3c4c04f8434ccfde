"""Outbound for the API channel: replies are POSTed, signed like inbound, to the callback URL."""

from __future__ import annotations

import json

import aiohttp

from channels.api.const import SIGNATURE_HEADER
from channels.api.parse import sign
from hub.errors import MediaUnavailable, PermanentSendError, TemporarySendError
from hub.messages import Attachment, MediaContent, OutboundMessage, SendResult

__all__ = ["ApiCallbackClient", "download", "reply_body"]


def reply_body(message: OutboundMessage) -> bytes:
    """The JSON the callback receives for one reply."""
    return json.dumps(
        {
            "message_id": message.interaction_id,
            "conversation_id": message.conversation_id,
            "recipient": {"id": message.recipient.external_id},
            "text": message.text,
            "attachments": [a.as_json() for a in message.attachments],
            "reply_to": message.reply_to_external_id,
        },
        ensure_ascii=False,
    ).encode()


class ApiCallbackClient:
    """POSTs signed replies to ``SWITCHBOARD_API_CALLBACK_URL``."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one reply; the callback's 2xx means accepted."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = reply_body(message)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                if response.status == 429 or response.status >= 500:
                    retry_after = response.headers.get("Retry-After")
                    raise TemporarySendError(
                        f"callback answered {response.status}",
                        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                    )
                if response.status >= 400:
                    raise PermanentSendError(f"callback refused the reply with {response.status}")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TemporarySendError(f"callback unreachable: {err}") from err
        return SendResult(external_message_id=message.interaction_id)


async def download(session: aiohttp.ClientSession, attachment: Attachment, *, max_bytes: int) -> MediaContent:
    """Fetch an attachment's URL (the calling system's own link: no credentials), at most ``max_bytes``."""
    if not attachment.url:
        raise MediaUnavailable("the attachment has no URL")
    try:
        async with session.get(attachment.url) as response:
            if response.status != 200:
                raise MediaUnavailable(f"{attachment.url} answered {response.status}")
            if (response.content_length or 0) > max_bytes:
                raise MediaUnavailable(f"larger than {max_bytes} bytes")
            content = await response.content.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise MediaUnavailable(f"larger than {max_bytes} bytes")
            content_type = response.headers.get("Content-Type", attachment.content_type)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise MediaUnavailable(f"could not fetch {attachment.url}: {err}") from err
    return MediaContent(content, content_type.split(";", 1)[0].strip(), attachment.filename)
