"""I/O with the Bot API through python-telegram-bot's ``Bot``: send, answer buttons, poll, download files."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from channels.telegram.const import MAX_CAPTION_LENGTH
from channels.telegram.outbound import external_id, reply_message_id, send_error, split_text
from hub.errors import MediaUnavailable, PermanentSendError
from hub.messages import Attachment, MediaContent, OutboundMessage, SendResult

__all__ = ["TelegramClient"]

log = logging.getLogger(__name__)

_DOWNLOAD_CHUNK = 64 * 1024
_DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


class TelegramClient:
    """One bot's connection to the Bot API (or whatever stands at ``api_base``)."""

    def __init__(self, token: str, api_base: str) -> None:
        api_base = api_base.rstrip("/")
        # PTB's default is HTTP/1.1; said here because a custom base_url with HTTP/2 makes PTB warn.
        self._bot = Bot(
            token,
            base_url=f"{api_base}/bot",
            base_file_url=f"{api_base}/file/bot",
            request=HTTPXRequest(http_version="1.1"),
            get_updates_request=HTTPXRequest(http_version="1.1"),
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def bot(self) -> Bot:
        """PTB's bot, also handed to ``Update.de_json``."""
        return self._bot

    async def start(self) -> None:
        """Open the HTTP pools and check the token with getMe; a failure is logged, not fatal."""
        try:
            await self._bot.initialize()
        except TelegramError as err:
            # Telegram being down must not keep the hub (and its other channels) from starting.
            log.error("telegram: getMe failed (%s); sends will be tried all the same", err.message)

    async def close(self) -> None:
        """Close the HTTP pools."""
        await self._bot.shutdown()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send a reply's text and attachments; the result names the first Telegram message."""
        if not message.text and not message.attachments:
            problem = "Telegram has no message templates" if message.template else "nothing to send"
            raise PermanentSendError(f"{problem}: the reply has no text and no attachments")
        chat_id = message.recipient.external_id
        reply_to = reply_message_id(message.reply_to_external_id, chat_id)
        try:
            first = await self._send_parts(chat_id, message, reply_to)
        except TelegramError as err:
            raise send_error(err) from err
        return SendResult(external_message_id=external_id(chat_id, first.message_id))

    async def _send_parts(self, chat_id: str, message: OutboundMessage, reply_to: int | None) -> Message:
        text, caption = message.text or None, None
        if text and message.attachments and len(split_text(text, MAX_CAPTION_LENGTH)) == 1:
            text, caption = None, text
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        sent: list[Message] = []
        for piece in split_text(text) if text else []:
            sent.append(await self._bot.send_message(chat_id, piece, reply_parameters=reply))
            reply = None
        for attachment in message.attachments:
            sent.append(await self._send_attachment(chat_id, attachment, caption, reply))
            caption, reply = None, None
        return sent[0]

    async def _send_attachment(
        self, chat_id: str, attachment: Attachment, caption: str | None, reply: ReplyParameters | None
    ) -> Message:
        # https://core.telegram.org/bots/api#sending-files: by URL, by an earlier file_id, or uploaded.
        source: str | InputFile
        if attachment.url:
            source = attachment.url
        elif attachment.media_id:
            source = attachment.media_id
        elif attachment.content is not None:
            source = InputFile(attachment.content, filename=attachment.filename)
        else:
            raise PermanentSendError("attachment has no url, file id or content to send")
        if attachment.content_type.startswith("image/") and attachment.content_type != "image/gif":
            return await self._bot.send_photo(chat_id, source, caption=caption, reply_parameters=reply)
        return await self._bot.send_document(chat_id, source, caption=caption, reply_parameters=reply)

    async def answer_callback_query(self, query_id: str) -> None:
        """Stop the button's spinner in the customer's app; best effort, failures are logged."""
        try:
            await self._bot.answer_callback_query(query_id)
        except TelegramError as err:
            log.warning("telegram: answerCallbackQuery %s failed: %s", query_id, err.message)

    # -- polling ----------------------------------------------------------------------------------

    async def delete_webhook(self) -> None:
        """Remove any webhook: Telegram refuses getUpdates while one is set."""
        await self._bot.delete_webhook()

    async def get_updates(self, offset: int | None, wait_seconds: int) -> list[dict[str, Any]]:
        """One long poll for updates from ``offset`` on, as raw JSON objects."""
        # Raw JSON, not Bot.get_updates: PTB parses the whole batch at once, so one update it cannot
        # parse would fail them all; here each goes through parse_update on its own. The lower-case
        # name is the same method (Bot API method names are case-insensitive,
        # https://core.telegram.org/bots/api#making-requests) and spares do_api_request's warning
        # that ``getUpdates`` has a wrapper.
        result = await self._bot.do_api_request(
            "getupdates",
            api_kwargs={"offset": offset, "timeout": wait_seconds},
            read_timeout=wait_seconds + 10,
        )
        if not isinstance(result, list):
            return []
        return [item for item in result if isinstance(item, dict)]

    # -- media ------------------------------------------------------------------------------------

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        """getFile, then download at most ``max_bytes`` from the file URL."""
        if not attachment.media_id:
            raise MediaUnavailable("attachment has no Telegram file_id")
        try:
            found = await self._bot.get_file(attachment.media_id)
        except TelegramError as err:
            raise MediaUnavailable(f"getFile refused: {err.message}") from err
        if found.file_size is not None and found.file_size > max_bytes:
            raise MediaUnavailable(f"file is {found.file_size} bytes, over the {max_bytes}-byte limit")
        if not found.file_path:
            raise MediaUnavailable("getFile returned no file_path")
        content = await self._download(found.file_path, max_bytes)
        filename = attachment.filename or found.file_path.rsplit("/", 1)[-1]
        return MediaContent(content, attachment.content_type, filename)

    async def _download(self, url: str, max_bytes: int) -> bytes:
        # The URL holds the bot token: errors name the failure, never the URL.
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_DOWNLOAD_TIMEOUT)
        try:
            async with self._session.get(url) as response:
                if response.status != 200:
                    raise MediaUnavailable(f"file download answered {response.status}")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise MediaUnavailable(f"Content-Length is over the {max_bytes}-byte limit")
                chunks, total = [], 0
                async for chunk in response.content.iter_chunked(_DOWNLOAD_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise MediaUnavailable(f"file is over the {max_bytes}-byte limit")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaUnavailable(f"file download failed: {type(err).__name__}") from err
        return b"".join(chunks)
