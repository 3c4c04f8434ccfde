"""The CRM's tables. Chatwoot's split: channel ≠ contact identity ≠ conversation ≠ interaction."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db import Base, JsonType, new_id

__all__ = [
    "Agent",
    "AgentSkill",
    "Agreement",
    "ApiToken",
    "AuditEntry",
    "Availability",
    "CannedResponse",
    "Case",
    "ChannelAccount",
    "Contact",
    "ContactIdentity",
    "ContactTag",
    "Conversation",
    "ConversationRead",
    "ConversationStatus",
    "ConversationTag",
    "CsatResponse",
    "Direction",
    "EventRecord",
    "Interaction",
    "InteractionKind",
    "Organisation",
    "Role",
    "Skill",
    "SlaTier",
    "Tag",
    "Team",
    "TeamMember",
]


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


class InteractionKind(enum.StrEnum):
    MESSAGE = "message"
    CALL = "call"
    NOTE = "note"
    STATUS_CHANGE = "status_change"
    BOT_TURN = "bot_turn"


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Role(enum.StrEnum):
    """What a user or token may do; sensitive data (payments, audit) is for supervisor and admin."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SERVICE = "service"


class Availability(enum.StrEnum):
    """Whether an agent takes new work: only online agents get conversations by round-robin."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))


class Contact(Base):
    __tablename__ = "contacts"
    # Merge suggestions look new contacts up by name, case-folded (crm_core.ingest._suggest_merges).
    __table_args__ = (Index("ix_contacts_display_name_lower", func.lower(text("display_name"))),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    verified_email: Mapped[str | None] = mapped_column(String(320), index=True)
    """The address a provider vouched for (never a hand edit): verified traffic from it joins this contact."""
    verified_phone: Mapped[str | None] = mapped_column(String(40), index=True)
    """The number a provider vouched for (an SMS or WhatsApp sender's own): verified traffic from it joins."""
    language: Mapped[str | None] = mapped_column(String(16))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ContactIdentity(Base):
    """One channel address of a contact; unique across contacts."""

    __tablename__ = "contact_identities"
    # The address leads: batch lookups are `external_id IN (...)` (see crm_core.ingest).
    __table_args__ = (UniqueConstraint("external_id", "channel", "account"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    """When the customer last wrote from this address: opens reply windows (WhatsApp's 24 hours)."""
    opted_out_at: Mapped[datetime | None]
    """Set by STOP, cleared by START: nothing but the confirmation is sent while set."""


class SlaTier(Base):
    """Service level sold with an agreement: how fast we must answer and resolve."""

    __tablename__ = "sla_tiers"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_response_seconds: Mapped[int]
    resolution_seconds: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)


class Agreement(Base):
    """What was sold to a contact or organisation, on which terms."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("contact_id IS NOT NULL OR organisation_id IS NOT NULL", name="has_party"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    sla_tier: Mapped[str] = mapped_column(ForeignKey("sla_tiers.name"))
    entitlements: Mapped[list[Any]] = mapped_column(default=list)
    payment_plan: Mapped[str] = mapped_column(String(40))
    payment_status: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class Agent(Base):
    """A person who works in the console (or an admin)."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(f"role IN ({_values(Role)})", name="role"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    phone: Mapped[str | None] = mapped_column(String(80))
    """Where a call is put through to this agent: an E.164 number, ``client:<name>`` or ``sip:...``."""
    availability: Mapped[str] = mapped_column(
        String(20), default=Availability.OFFLINE.value, server_default=Availability.OFFLINE.value
    )
    """online, away or offline (crm_core.assignment); signing out sets offline."""
    max_open: Mapped[int] = mapped_column(default=8, server_default="8")
    """How many open conversations round-robin gives this agent at most."""
    created_at: Mapped[datetime]


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    last_assigned_at: Mapped[datetime | None]
    """When round-robin last gave this member a conversation of this team: the rotation, kept in the
    database so that every hub process continues it."""


class Skill(Base):
    __tablename__ = "skills"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    skill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, default=1)


class Conversation(Base):
    """A thread with one contact on one channel account; at most one active per thread key."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ConversationStatus)})", name="status"),
        # Only one active (not closed) conversation per thread: makes concurrent ingest on several
        # hub processes converge instead of opening twins.
        Index(
            "uq_conversations_active_thread",
            "contact_id",
            "channel",
            "account",
            "thread_key",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_conversations_last_message_at", "last_message_at"),
        # Each inbox filter leads an index that ends in the paging order (newest activity first), so a
        # filtered first page is an ordered index scan at any size (see crm_core.conversations).
        Index("ix_conversations_status_activity", "status", "last_message_at", "id"),
        Index("ix_conversations_assignee_activity", "assignee_id", "status", "last_message_at", "id"),
        Index("ix_conversations_team_activity", "team_id", "status", "last_message_at", "id"),
        Index("ix_conversations_channel_activity", "channel", "status", "last_message_at", "id"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    thread_key: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default=ConversationStatus.OPEN.value)
    subject: Mapped[str | None] = mapped_column(String(500))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    opened_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    sentiment: Mapped[float | None]
    """The trend: an exponential moving average of the customer's scored messages, -1 to 1."""
    sentiment_last: Mapped[float | None]
    flagged_at: Mapped[datetime | None]
    """When the conversation was flagged for attention (a sentiment alert); cleared by an agent."""
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    handed_over_at: Mapped[datetime | None]
    """When the bot handed the conversation to people; the bot stays quiet afterwards."""
    handover: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    """The bot's reason and scores when it handed over."""
    snoozed_until: Mapped[datetime | None]
    """A pending conversation comes back to the inbox (open) at this time, or when the customer writes."""


class Interaction(Base):
    """Every message, call, note, status change or bot turn, in or out."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(f"direction IN ({_values(Direction)})", name="direction"),
        CheckConstraint(f"kind IN ({_values(InteractionKind)})", name="kind"),
        # The dedup key of inbound traffic and the echo guard of outbound (NULLs never collide). The
        # provider's id leads so that a batch's `IN (...)` lookup is an index condition whatever the
        # planner's statistics say; delivery reports (channel + id) use the same index.
        UniqueConstraint("external_message_id", "channel", "account"),
        # A retried reply (same Idempotency-Key) is queued once.
        UniqueConstraint("conversation_id", "idempotency_key"),
        Index("ix_interactions_conversation_time", "conversation_id", "occurred_at"),
        Index("ix_interactions_contact_time", "contact_id", "occurred_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"))
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    source_kind: Mapped[str | None] = mapped_column(String(20))
    private: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    external_message_id: Mapped[str | None] = mapped_column(String(300))
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    reply_to_external_id: Mapped[str | None] = mapped_column(String(300))
    """The provider's id of the message this one answers, reacts to or edits."""
    subject: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    """Kind-specific facts: an email's sanitized ``html``, a call's ``duration_s``, ``outcome``..."""
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]


class Case(Base):
    """A request handled as a process: its type, the step it is at, status and priority."""

    __tablename__ = "cases"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversations.id"))
    type: Mapped[str] = mapped_column(String(80))
    step: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    title: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class ContactTag(Base):
    __tablename__ = "contact_tags"
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), primary_key=True)


class ConversationTag(Base):
    __tablename__ = "conversation_tags"
    # The inbox's tag filter goes from the tag to its conversations.
    __table_args__ = (Index("ix_conversation_tags_tag_id", "tag_id"),)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), primary_key=True)


class ConversationRead(Base):
    """How far an agent has read a conversation: it is unread again once the customer writes after that."""

    __tablename__ = "conversation_reads"
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    read_at: Mapped[datetime]
    """When the agent last opened the conversation."""
    read_through: Mapped[datetime]
    """The conversation's ``last_message_at`` (its latest customer activity) the agent saw then: compared
    with that rather than the clock, so a message stamped earlier by a lagging provider still counts."""


class CsatResponse(Base):
    __tablename__ = "csat_responses"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which record; written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]


class EventRecord(Base):
    """The transactional outbox: events written with the change, relayed to the bus after commit."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_unrelayed", "relayed_at", "occurred_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    relayed_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(f"role IN ({_values(Role)})", name="role"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    """Console sessions end; tokens made with the CLI last until revoked."""


class ChannelAccount(Base):
    """One of our numbers, bots or mailboxes on a channel; new conversations on it go to its default team."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "account"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    default_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[datetime]


class CannedResponse(Base):
    """A prepared reply; ``{{contact.name}}``-style placeholders are filled in by the console."""

    __tablename__ = "canned_responses"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    shortcut: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
