"""Tables of the messaging layer: the outbox of replies, traffic kept aside, stored media, merge hints."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db import Base, new_id

__all__ = [
    "EarlyDeliveryReport",
    "KeptAsideRecord",
    "MergeSuggestion",
    "OutboxItem",
    "OutboxState",
    "StoredMedia",
]


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxItem(Base):
    """One reply waiting to be sent, being retried, sent, or dead (the dead-letter list)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'dead')", name="state"),
        # What the sender polls: pending items by due time.
        Index("ix_outbox_due", "state", "next_attempt_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(320))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """template, reply_to_external_id, system (a confirmation an opted-out identity may still get)."""
    state: Mapped[str] = mapped_column(String(10), default=OutboxState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KeptAsideRecord(Base):
    """Provider traffic that could not be turned into messages, kept with the reason."""

    __tablename__ = "kept_aside"
    # A provider's redelivery of the same bytes is kept once.
    __table_args__ = (UniqueConstraint("channel", "digest"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(index=True)


class StoredMedia(Base):
    """An inbound attachment downloaded into the hub's storage (or why it could not be), or a file an agent
    uploaded to send: no interaction, an ``access_key`` for the link providers fetch, ``uploaded_by``."""

    __tablename__ = "media"
    __table_args__ = (UniqueConstraint("interaction_id", "position"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interactions.id"))
    access_key: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    # In the database, not on one node's disk: every hub process can serve it (sizes are capped).
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class MergeSuggestion(Base):
    """Two contacts that may be one person (same display name on different addresses): a human decides."""

    __tablename__ = "merge_suggestions"
    __table_args__ = (UniqueConstraint("contact_id", "candidate_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    candidate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class EarlyDeliveryReport(Base):
    """A delivery report that arrived before the send that it reports on was recorded (a fast provider).

    Applied, and removed, when the outbox records the provider's id; unclaimed ones are dropped after a day.
    """

    __tablename__ = "early_delivery_reports"
    __table_args__ = (Index("ix_early_delivery_reports_message", "external_message_id", "channel"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(40))
    external_message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)


class InteractionSentiment(Base):
    """How a customer's message (or call transcript) was scored, and by which model."""

    __tablename__ = "interaction_sentiments"
    interaction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interactions.id"), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"), index=True)
    label: Mapped[str] = mapped_column(String(10))
    score: Mapped[float]
    model: Mapped[str] = mapped_column(String(200))
    scored_at: Mapped[datetime]


class ChannelStateEntry(Base):
    """A channel's small durable state (an IMAP mailbox's UID checkpoint), one row per key."""

    __tablename__ = "channel_state"
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
