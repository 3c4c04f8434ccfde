"""The frozen views of contacts that leave the CRM core: summary and the 360 parts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

from sqlalchemy import Row

from crm_core._jsonsql import plain_fields
from crm_core.models import Contact

__all__ = [
    "SUMMARY_COLUMNS",
    "AgreementView",
    "AnyRow",
    "CaseView",
    "ContactFigures",
    "ContactSummary",
    "Customer360",
    "IdentityView",
    "RecentInteraction",
    "summary_of",
]

# A result row of any shape (SQLAlchemy types rows by their column types).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """A contact's own fields; ``merged_into_id`` is set once it was merged into another contact."""

    id: uuid.UUID
    display_name: str | None
    email: str | None
    phone: str | None
    language: str | None
    organisation_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IdentityView:
    """One channel address of a contact."""

    id: uuid.UUID
    channel: str
    account: str
    external_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AgreementView:
    """What was sold, on which SLA; ``organisation_id`` is set when it covers the contact's organisation."""

    id: uuid.UUID
    contact_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    product: str
    sla_tier: str
    first_response_seconds: int
    resolution_seconds: int
    entitlements: tuple[Any, ...]
    payment_plan: str
    payment_status: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as the 360 view shows it."""

    id: uuid.UUID
    conversation_id: uuid.UUID | None
    type: str
    step: str
    status: str
    priority: str
    title: str
    opened_at: datetime
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecentInteraction:
    """One of a contact's latest interactions, on any conversation and channel."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    direction: str
    kind: str
    private: bool
    text: str | None
    occurred_at: datetime
    delivery_status: str | None


@dataclass(frozen=True, slots=True)
class ContactFigures:
    """Lifetime figures; ``first_seen`` is the first interaction, ``last_seen`` the last inbound one."""

    interactions_total: int
    conversations_total: int
    conversations_open: int
    cases_total: int
    cases_open: int
    first_seen: datetime | None
    last_seen: datetime | None
    csat_average: float | None
    csat_count: int


@dataclass(frozen=True, slots=True)
class Customer360:
    """All an agent needs about a customer; ``requested_id`` differs from ``contact.id`` after a merge."""

    requested_id: uuid.UUID
    contact: ContactSummary
    organisation_name: str | None
    identities: tuple[IdentityView, ...]
    agreements: tuple[AgreementView, ...]
    open_cases: tuple[CaseView, ...]
    recent_interactions: tuple[RecentInteraction, ...]
    tags: tuple[str, ...]
    figures: ContactFigures


SUMMARY_COLUMNS = (
    Contact.id,
    Contact.display_name,
    Contact.email,
    Contact.phone,
    Contact.language,
    Contact.organisation_id,
    Contact.merged_into_id,
    Contact.created_at,
    Contact.updated_at,
)


def summary_of(row: AnyRow) -> ContactSummary:
    """A summary from a row holding ``SUMMARY_COLUMNS``."""
    return ContactSummary(**plain_fields(row, ContactSummary.__dataclass_fields__))
