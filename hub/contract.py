"""What a channel is, as the hub sees it. A leaf module: standard library and aiohttp types only.

A channel package (``channels/<name>/``) exports ``CHANNEL``, a :class:`ChannelSpec`. The hub's registry
finds it, reads its settings from ``SWITCHBOARD_<PREFIX>_*``, builds the channel with a
:class:`ChannelContext` and mounts ``webhook_routes()`` under ``/webhooks/<name>``.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from aiohttp import web

from hub.errors import BadRequest, MediaUnavailable, PermanentSendError
from hub.messages import (
    Attachment,
    BotAnswer,
    DeliveryUpdate,
    ExternalIdentity,
    HistoryItem,
    InboundMessage,
    IngestResult,
    KeptAside,
    MediaContent,
    OutboundMessage,
    SendResult,
)

__all__ = ["Answerer", "Broadcast", "Channel", "ChannelContext", "ChannelSpec", "ChannelState", "Inbox"]

SettingsT = TypeVar("SettingsT")


class Inbox(Protocol):
    """The hub's door for a channel: the only way a channel reaches the core."""

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        """Store the messages durably (deduplicated); return once committed."""
        ...

    async def record_delivery(self, updates: Sequence[DeliveryUpdate]) -> None:
        """Store providers' delivery reports for messages we sent."""
        ...

    async def keep_aside(self, items: Sequence[KeptAside]) -> None:
        """Durably keep traffic that could not be parsed, with the reason; return once committed."""
        ...

    async def history(self, identity: ExternalIdentity, *, limit: int = 50) -> list[HistoryItem]:
        """The visible interactions of this identity's active conversation, oldest first."""
        ...


class Broadcast(Protocol):
    """Fire-and-forget fan-out to every hub process (in-process, or Redis pub/sub when scaled out).

    Not durable: what matters is stored first; a broadcast only tells live connections to look.
    """

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send ``payload`` to every current subscriber of ``topic`` on any hub process."""
        ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with broadcast.subscribe(t) as messages: async for payload in messages: ...``"""
        ...


class ChannelState(Protocol):
    """A channel's small durable state (an IMAP mailbox's UID checkpoint), shared by every hub process."""

    async def get(self, key: str) -> str | None:
        """The value last put under ``key``, or None."""
        ...

    async def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``; returns once committed."""
        ...


class Answerer(Protocol):
    """Asks the knowledge base for an answer the bot would give on its own (a live call cannot wait)."""

    async def __call__(
        self, question: str, *, identity: ExternalIdentity, language: str | None = None
    ) -> BotAnswer | None:
        """The confident answer, or None when the question should go to a person."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the hub hands a channel when it builds it."""

    inbox: Inbox
    public_url: str | None
    """Base URL providers call (``SWITCHBOARD_PUBLIC_URL``), or None to use each request's own URL."""
    broadcast: Broadcast | None = None
    """Cross-process fan-out, for a channel that holds live connections (web chat)."""
    state: ChannelState | None = None
    """Durable key-value state, for a channel that keeps checkpoints (IMAP UIDs)."""
    answer: Answerer | None = None
    """The bot's answer on demand, for a channel that must answer while the customer waits (a call)."""


class Channel(abc.ABC, Generic[SettingsT]):
    """A built, configured channel."""

    keyword_opt_out: ClassVar[bool] = False
    """Whether STOP/START/HELP messages on this channel opt the sender out and in (SMS, WhatsApp)."""
    threads_by_reference: ClassVar[bool] = False
    """Whether replies need ``OutboundMessage.references`` (an email's ``References`` header)."""
    answers_live: ClassVar[bool] = False
    """Whether the channel asks the bot itself while the customer waits (a call, through
    ``ChannelContext.answer``): the hub's bot then never replies there through the outbox, and
    round-robin does not wait for a bot handover on its conversations."""
    attaches_files: ClassVar[bool] = False
    """Whether the channel sends files' bytes itself (email): the hub then fills ``Attachment.content`` of
    the agent's uploaded files; other channels get their link (``url``) for the provider to fetch."""

    def __init__(self, name: str, settings: SettingsT, context: ChannelContext) -> None:
        self.name = name
        self.settings = settings
        self.context = context

    @abc.abstractmethod
    def webhook_routes(self) -> Sequence[web.RouteDef]:
        """Routes mounted under ``/webhooks/<name>``; ``""`` is the bare prefix."""

    def public_routes(self) -> Sequence[web.RouteDef]:
        """Routes mounted under ``/<name>`` for a channel that serves browsers."""
        return ()

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver a reply through the provider."""
        raise PermanentSendError(f"channel {self.name!r} cannot send messages")

    def reply_window(self, recipient: ExternalIdentity) -> timedelta | None:
        """How long after the customer's last message a free-form reply may be sent; None: no limit.

        Outside it the hub refuses free-form replies (``OutsideServiceWindow``) and only templates go out.
        """
        return None

    async def control(
        self,
        action: str,
        *,
        recipient: ExternalIdentity,
        thread_key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """Act on a live session rather than send a message: a phone channel's ``call`` (click to call),
        ``connect`` (hand the call in ``thread_key`` to an agent's phone), ``recording`` (pause/resume).

        Answers JSON-able facts (``{"call_sid": ...}``); raises ``BadRequest`` for an action or parameters
        it does not know, ``PermanentSendError``/``TemporarySendError`` when the provider refuses.
        """
        raise BadRequest(f"channel {self.name!r} has no action {action!r}", code="unsupported_action")

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        """Download an inbound attachment with the provider's credentials; MediaUnavailable if not."""
        raise MediaUnavailable(f"channel {self.name!r} cannot download attachments")

    async def start(self) -> None:
        """Open clients and start pollers; called once the app starts."""

    async def shutdown(self) -> None:
        """The hub begins to stop: end long-lived connections (WebSockets) so open requests can finish."""

    async def close(self) -> None:
        """Stop pollers and close clients; called once the app stops."""


@dataclass(frozen=True, slots=True)
class ChannelSpec(Generic[SettingsT]):
    """What a channel package exports as ``CHANNEL``.

    ``settings`` is a frozen dataclass; its fields are read from ``SWITCHBOARD_<env_prefix>_<FIELD>``. The
    channel is enabled when every name in ``required`` is set, disabled when none is, and the hub refuses
    to start when only some are.
    """

    name: str
    env_prefix: str
    settings: type[SettingsT]
    required: tuple[str, ...]
    build: Callable[[str, SettingsT, ChannelContext], Channel[Any]]
    summary: str = ""
