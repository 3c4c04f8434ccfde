"""What a channel is, as the hub sees it. A leaf module: standard library and aiohttp types only.

A channel package (``channels/<name>/``) exports ``CHANNEL``, a :class:`ChannelSpec`. The hub's registry
finds it, reads its settings from ``SWITCHBOARD_<PREFIX>_*``, builds the channel with a
:class:`ChannelContext` and mounts ``webhook_routes()`` under ``/webhooks/<name>``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web

from hub.errors import PermanentSendError
from hub.messages import DeliveryUpdate, InboundMessage, IngestResult, OutboundMessage, SendResult

__all__ = ["Channel", "ChannelContext", "ChannelSpec", "Inbox"]

SettingsT = TypeVar("SettingsT")


class Inbox(Protocol):
    """The hub's door for a channel: the only way a channel reaches the core."""

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        """Store the messages durably (deduplicated); return once committed."""
        ...

    async def record_delivery(self, updates: Sequence[DeliveryUpdate]) -> None:
        """Store providers' delivery reports for messages we sent."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the hub hands a channel when it builds it."""

    inbox: Inbox
    public_url: str | None
    """Base URL providers call (``SWITCHBOARD_PUBLIC_URL``), or None to use each request's own URL."""


class Channel(abc.ABC, Generic[SettingsT]):
    """A built, configured channel."""

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

    async def start(self) -> None:
        """Open clients and start pollers; called once the app starts."""

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
