"""The normalized types that cross the boundary between channels and the hub.

A leaf module: standard library only. Every datetime is timezone-aware.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Attachment",
    "DeliveryStatus",
    "DeliveryUpdate",
    "ExternalIdentity",
    "HistoryItem",
    "InboundKind",
    "InboundMessage",
    "IngestResult",
    "KeptAside",
    "MediaContent",
    "OutboundMessage",
    "SendResult",
    "SenderHints",
    "utcnow",
]


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who wrote, on which of our accounts (number, bot, mailbox, API client)."""

    channel: str
    account: str
    external_id: str

    def __post_init__(self) -> None:
        for name in ("channel", "account", "external_id"):
            if not getattr(self, name):
                raise ValueError(f"ExternalIdentity.{name} must not be empty")


class InboundKind(enum.StrEnum):
    """What the provider sent."""

    TEXT = "text"
    MEDIA = "media"
    LOCATION = "location"
    CONTACT_CARD = "contact_card"
    REACTION = "reaction"
    EDIT = "edit"
    CALL = "call"
    EVENT = "event"


class DeliveryStatus(enum.StrEnum):
    """Delivery state of an outgoing message.

    Stored statuses only move forward, queued < sent < delivered < read, and failed may follow any of them
    and is final: the CRM core enforces it where the status is written (crm_core.delivery).
    """

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the provider holds (``url``, or ``media_id`` to look up) or that came inline (content).

    ``media_id`` is the provider's own reference when the file must be looked up before download
    (a WhatsApp media id, a Telegram ``file_id``); ``Channel.fetch_media`` knows what to do with it.
    Inline ``content`` (an email's parts) is stored by the hub with the interaction, in the same
    transaction, so nothing is fetched later.
    """

    content_type: str
    url: str | None = None
    filename: str | None = None
    size: int | None = None
    media_id: str | None = None
    content: bytes | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        """The attachment as stored with an interaction (inline content is not kept here)."""
        out: dict[str, Any] = {"content_type": self.content_type}
        for key in ("url", "filename", "size", "media_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class SenderHints:
    """What the sender told about themselves: suggests merges, never decides identity on its own.

    ``phone`` is E.164 (``+972501234567``) when the channel knows a number. ``verified`` says the
    provider or a signature vouches for ``phone``/``email`` (an SMS or WhatsApp sender's own number, an
    identity signed by the customer's site): the hub may then attach a new identity to the contact who
    already has that number or address. An unverified hint only ever suggests a merge.
    """

    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message (or call, or event) from a customer, normalized."""

    identity: ExternalIdentity
    external_message_id: str
    thread_key: str
    kind: InboundKind
    received_at: datetime
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    sender_hints: SenderHints = field(default_factory=SenderHints)
    raw: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    reply_to_external_id: str | None = None
    """The provider's id of the message this one answers, reacts to or edits (when it says)."""
    references: tuple[str, ...] = ()
    """Provider ids of earlier messages this one follows, nearest first (an email's ``In-Reply-To`` then
    ``References`` reversed). The hub joins the open conversation of the first one it has stored (our own
    replies before the customer's messages), and only otherwise goes by ``thread_key``."""
    subject: str | None = None
    """A subject line (email); a new conversation takes it as its subject."""
    details: Mapping[str, Any] | None = None
    """Kind-specific facts kept with the interaction as JSON: an email's sanitized ``html`` body, a call's
    ``duration_s``, ``outcome``, ``recording_url``... Plain JSON values only."""

    def __post_init__(self) -> None:
        if not self.external_message_id:
            raise ValueError("InboundMessage.external_message_id must not be empty")
        _require_aware(self.received_at, "InboundMessage.received_at")


@dataclass(frozen=True, slots=True)
class KeptAside:
    """Provider traffic a channel could not turn into messages, kept with the reason for diagnosis.

    ``provider_id`` is the provider's id for it when one could be read (update id, message sid, wamid).
    ``body`` is the raw request body as received.
    """

    channel: str
    account: str
    reason: str
    body: bytes = field(repr=False)
    content_type: str
    received_at: datetime
    provider_id: str | None = None

    def __post_init__(self) -> None:
        if not self.reason:
            raise ValueError("KeptAside.reason must not be empty")
        _require_aware(self.received_at, "KeptAside.received_at")


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One visible (not private) interaction of a conversation, as a channel may show it to the customer."""

    interaction_id: str
    direction: str
    """``in`` (from the customer) or ``out`` (from us: agent or bot)."""
    text: str | None
    attachments: tuple[Mapping[str, Any], ...]
    occurred_at: datetime
    author_name: str | None = None
    delivery_status: str | None = None


@dataclass(frozen=True, slots=True)
class MediaContent:
    """A downloaded file."""

    content: bytes = field(repr=False)
    content_type: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class BotAnswer:
    """The knowledge base's answer to a question, when the bot is confident enough to give it alone."""

    text: str
    confidence: float
    language: str | None = None
    source: str | None = None
    """What the answer came from (an article's title), for the record."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the hub stored for one inbound message; ids are strings."""

    interaction_id: str
    conversation_id: str
    contact_id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply the hub asks a channel to deliver."""

    interaction_id: str
    conversation_id: str
    recipient: ExternalIdentity
    idempotency_key: str
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to_external_id: str | None = None
    template: Mapping[str, Any] | None = None
    """A pre-approved template (WhatsApp outside the 24-hour window), provider-specific keys:
    ``{"name", "language", "parameters"}`` for Cloud API, ``{"content_sid", "variables"}`` for Twilio."""
    author_name: str | None = None
    subject: str | None = None
    """The conversation's subject (an email reply's ``Re:`` line is made from it)."""
    references: tuple[str, ...] = ()
    """Provider ids of the conversation's earlier messages (both directions), oldest first: an email's
    ``References`` header."""
    thread_key: str | None = None
    """The conversation's thread key (a call sid, an email thread's root Message-ID)."""
    automatic: bool = False
    """Written by the bot or sent by the system, not by a person (email marks it ``Auto-Submitted``)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider's id for a message it accepted."""

    external_message_id: str


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """A provider's report on a message we sent."""

    channel: str
    external_message_id: str
    status: DeliveryStatus
    occurred_at: datetime
    error: str | None = None

    def __post_init__(self) -> None:
        _require_aware(self.occurred_at, "DeliveryUpdate.occurred_at")
