"""Wiring of the Telegram channel: its webhook (or its poller), its sender and its file downloads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from telegram.error import RetryAfter, TelegramError

from channels.telegram.client import TelegramClient
from channels.telegram.const import (
    DEFAULT_API_BASE,
    DEFAULT_POLL_RETRY_DELAY,
    DEFAULT_POLL_TIMEOUT,
    ENV_VAR_PREFIX,
    MODE_POLLING,
    MODE_WEBHOOK,
    SECRET_HEADER,
)
from channels.telegram.outbound import retry_after_seconds
from channels.telegram.parse import (
    ParsedMessage,
    bot_id_from_token,
    is_valid_secret_token,
    parse_update,
    verify_secret_token,
)
from hub.contract import Channel, ChannelContext
from hub.errors import ConfigError
from hub.messages import Attachment, KeptAside, MediaContent, OutboundMessage, SendResult, utcnow

__all__ = ["TelegramChannel", "TelegramSettings"]

log = logging.getLogger(__name__)

_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """``SWITCHBOARD_TELEGRAM_BOT_TOKEN`` (required), ``_SECRET_TOKEN`` (required for webhooks), ..."""

    bot_token: str
    secret_token: str | None = None
    api_base: str = DEFAULT_API_BASE
    mode: Literal["webhook", "polling"] = MODE_WEBHOOK
    account: str | None = None
    """Defaults to the bot's id, the digits before ``:`` in the token."""
    poll_timeout: int = DEFAULT_POLL_TIMEOUT
    poll_retry_delay: float = DEFAULT_POLL_RETRY_DELAY


def _check(settings: TelegramSettings) -> str:
    """Validate what pydantic cannot; return the account."""
    bot_id = bot_id_from_token(settings.bot_token)
    if bot_id is None:
        raise ConfigError(f"{ENV_VAR_PREFIX}BOT_TOKEN", "expected <bot id>:<secret> as @BotFather gives it")
    if settings.mode == MODE_WEBHOOK and not settings.secret_token:
        raise ConfigError(f"{ENV_VAR_PREFIX}SECRET_TOKEN", "required in webhook mode (the default)")
    if settings.secret_token is not None and not is_valid_secret_token(settings.secret_token):
        raise ConfigError(f"{ENV_VAR_PREFIX}SECRET_TOKEN", "1-256 characters of A-Z, a-z, 0-9, _ and -")
    if not 0 <= settings.poll_timeout <= 50:
        raise ConfigError(f"{ENV_VAR_PREFIX}POLL_TIMEOUT", "seconds from 0 to 50")
    return settings.account or bot_id


class TelegramChannel(Channel[TelegramSettings]):
    """A Telegram bot: updates by webhook (or long polling), replies through the Bot API."""

    def __init__(self, name: str, settings: TelegramSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        self.account = _check(settings)
        self._client = TelegramClient(settings.bot_token, settings.api_base)
        self._poller: asyncio.Task[None] | None = None
        self._offset: int | None = None

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        # A polling bot has no webhook: its route stays unmounted (404).
        return [web.post("", self.receive)] if self.settings.mode == MODE_WEBHOOK else []

    async def receive(self, request: web.Request) -> web.Response:
        """Check the secret, then store (or keep aside) the update, then answer 200."""
        verify_secret_token(self.settings.secret_token or "", request.headers.get(SECRET_HEADER))
        body = await request.read()
        await self.handle_update(body, request.content_type or _JSON)
        return web.Response(status=200)

    async def handle_update(self, body: bytes, content_type: str = _JSON) -> None:
        """The one path of every update, webhook or polled: parse, then ingest or keep aside."""
        outcome = parse_update(body, account=self.account, received_at=utcnow(), bot=self._client.bot)
        if not isinstance(outcome, ParsedMessage):
            log.warning("telegram: update %s kept aside: %s", outcome.update_id, outcome.reason)
            provider_id = None if outcome.update_id is None else str(outcome.update_id)
            aside = KeptAside(
                self.name, self.account, outcome.reason, body, content_type, utcnow(), provider_id
            )
            await self.context.inbox.keep_aside([aside])
            return
        await self.context.inbox.ingest([outcome.message])
        if outcome.callback_query_id is not None:
            await self._client.answer_callback_query(outcome.callback_query_id)

    async def send(self, message: OutboundMessage) -> SendResult:
        return await self._client.send(message)

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        return await self._client.fetch_media(attachment, max_bytes=max_bytes)

    async def start(self) -> None:
        await self._client.start()
        if self.settings.mode == MODE_POLLING:
            self._poller = asyncio.create_task(self._poll_forever(), name="telegram-poller")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self._client.close()

    # -- polling (https://core.telegram.org/bots/api#getupdates) --------------------------------------

    async def _poll_forever(self) -> None:
        webhook_deleted = False
        while True:
            try:
                if not webhook_deleted:
                    await self._client.delete_webhook()
                    webhook_deleted = True
                await self._poll_once()
            except TelegramError as err:
                delay = retry_after_seconds(err) if isinstance(err, RetryAfter) else None
                log.warning("telegram: polling failed: %s", err.message)
                await asyncio.sleep(delay or self.settings.poll_retry_delay)
            except Exception:  # task boundary: a failed store is retried, the loop goes on
                log.exception("telegram: storing a polled update failed; it will be fetched again")
                await asyncio.sleep(self.settings.poll_retry_delay)

    async def _poll_once(self) -> None:
        """Fetch a batch and handle each update, confirming each once it is stored."""
        for update in await self._client.get_updates(self._offset, self.settings.poll_timeout):
            await self.handle_update(json.dumps(update, ensure_ascii=False).encode())
            update_id = update.get("update_id")
            # Advanced only once the update is stored (or kept aside): a failure before refetches it.
            if isinstance(update_id, int):
                self._offset = update_id + 1
