"""Contacts: search, lookup, edits, merge and the customer 360 view (and who saw its payment fields)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from crm_core._contact_views import (
    SUMMARY_COLUMNS,
    AgreementView,
    CaseView,
    ContactFigures,
    ContactSummary,
    Customer360,
    IdentityView,
    RecentInteraction,
    summary_of,
)
from crm_core._customer360 import customer_360
from crm_core._jsonsql import Expr, as_uuid
from crm_core._merge import MergeOutcome, merge_contacts
from crm_core.audit import audit
from crm_core.errors import Conflict, ContactNotFound
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import Contact, ContactIdentity

__all__ = [
    "EDITABLE_FIELDS",
    "AgreementView",
    "CaseView",
    "ContactEdit",
    "ContactFigures",
    "ContactSummary",
    "Customer360",
    "IdentityView",
    "MergeOutcome",
    "RecentInteraction",
    "customer_360",
    "get_contact",
    "merge_contacts",
    "record_payment_view",
    "search_contacts",
    "update_contact",
]

# Arabic and Persian keyboards write the same letters with different code points (ي/ی, ك/ک), and
# Persian names come with or without tatweel and zero-width non-joiners: compare a folded form.
_ARABIC_FOLDS = (
    ("\u064a", "\u06cc"),  # Arabic yeh -> Persian yeh
    ("\u0649", "\u06cc"),  # alef maksura -> Persian yeh
    ("\u0643", "\u06a9"),  # Arabic kaf -> Persian keheh
    ("\u0640", ""),  # tatweel
    ("\u200c", ""),  # zero-width non-joiner
)
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-]+")


def _fold_text(value: str) -> str:
    for variant, canonical in _ARABIC_FOLDS:
        value = value.replace(variant, canonical)
    return value


def _fold_column(column: Expr) -> Expr:
    for variant, canonical in _ARABIC_FOLDS:
        column = func.replace(column, variant, canonical)
    return column


def _phone_digits(term: str) -> str | None:
    """ASCII digits of a phone-like query (``+972 50-123``, or in Persian digits), as numbers are stored."""
    if not _PHONE_LIKE.fullmatch(term):
        return None
    # Persian and Arabic keyboards type their own digits; stored numbers are E.164 in ASCII.
    digits = "".join(str(unicodedata.decimal(char)) for char in term if char.isdecimal())
    return None if len(digits) < 4 or digits == term else digits


def _matches(term: str) -> ColumnElement[bool]:
    if _ARABIC_SCRIPT.search(term):
        name = _fold_column(Contact.display_name).icontains(_fold_text(term), autoescape=True)
    else:
        name = Contact.display_name.icontains(term, autoescape=True)
    clauses = [
        name,
        Contact.email.icontains(term, autoescape=True),
        Contact.phone.icontains(term, autoescape=True),
    ]
    identity = [ContactIdentity.external_id.icontains(term, autoescape=True)]
    digits = _phone_digits(term)
    if digits is not None:
        clauses.append(Contact.phone.contains(digits, autoescape=True))
        identity.append(ContactIdentity.external_id.contains(digits, autoescape=True))
    clauses.append(exists().where(ContactIdentity.contact_id == Contact.id, or_(*identity)))
    return or_(*clauses)


async def search_contacts(
    conn: AsyncConnection, q: str | None, *, limit: int = 50, offset: int = 0
) -> list[ContactSummary]:
    """Contacts not merged away whose name, email, phone or any identity contains ``q``; newest first."""
    query = select(*SUMMARY_COLUMNS).where(Contact.merged_into_id.is_(None))
    if q is not None and q.strip():
        query = query.where(_matches(q.strip()))
    query = query.order_by(Contact.created_at.desc(), Contact.id.desc()).limit(limit).offset(offset)
    return [summary_of(row) for row in await conn.execute(query)]


async def get_contact(conn: AsyncConnection, contact_id: uuid.UUID) -> ContactSummary | None:
    """The contact with this id, merged or not."""
    row = (await conn.execute(select(*SUMMARY_COLUMNS).where(Contact.id == contact_id))).one_or_none()
    return None if row is None else summary_of(row)


# ---- edits ---------------------------------------------------------------------------------------

EDITABLE_FIELDS = ("display_name", "email", "phone", "language")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+?\d{4,20}")
# A BCP 47 tag as people write them: "he", "fa-IR", "zh-Hant-TW".
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_LIMITS = {"display_name": 200, "email": 320, "phone": 40, "language": 16}


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """A contact after an edit, which fields changed, and the events written (to relay after commit)."""

    contact: ContactSummary
    changed: tuple[str, ...]
    events: tuple[StoredEvent, ...]


def _clean_phone(value: str) -> str:
    # Persian and Arabic keyboards type their own digits; numbers are stored in ASCII, as E.164 is.
    folded = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)
    compact = _PHONE_PUNCTUATION.sub("", folded)
    if not _PHONE.fullmatch(compact):
        raise ValueError("phone must be a phone number (digits, optionally with a leading +)")
    return compact


def _clean(name: str, value: Any) -> str | None:
    """The stored form of one edited field; ValueError names what is wrong with it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null")
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        return None
    if len(text) > _LIMITS[name]:
        raise ValueError(f"{name} is longer than {_LIMITS[name]} characters")
    if name == "email" and not _EMAIL.fullmatch(text):
        raise ValueError("email must be an address like name@example.com")
    if name == "phone":
        return _clean_phone(text)
    if name == "language":
        if not _LANGUAGE.fullmatch(text):
            raise ValueError("language must be a language tag like en, he or fa-IR")
        primary, _, rest = text.partition("-")
        return primary.lower() + (f"-{rest}" if rest else "")
    return text


def _clean_changes(changes: Mapping[str, Any]) -> dict[str, str | None]:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"not editable: {', '.join(unknown)} (editable: {', '.join(EDITABLE_FIELDS)})")
    return {name: _clean(name, value) for name, value in changes.items()}


async def update_contact(
    conn: AsyncConnection,
    contact_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> ContactEdit:
    """Change a contact's name, email, phone or language in the caller's transaction, audited.

    ValueError for a field that cannot be stored; ContactNotFound; Conflict for a merged-away contact.
    """
    values = _clean_changes(changes)
    query = select(*SUMMARY_COLUMNS).where(Contact.id == contact_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise ContactNotFound(f"contact {contact_id} not found")
    if row.merged_into_id is not None:
        raise Conflict(f"contact {contact_id} was merged into {row.merged_into_id}: edit that one")
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return ContactEdit(summary_of(row), (), ())
    await conn.execute(update(Contact).where(Contact.id == contact_id).values(**changed, updated_at=now))
    detail = {"changes": {name: {"from": getattr(row, name), "to": value} for name, value in changed.items()}}
    await audit(
        conn,
        actor=actor,
        action="contact.updated",
        subject_type="contact",
        subject_id=contact_id,
        detail=detail,
        now=now,
    )
    events = await add_events(conn, [EventDraft("contact.updated", {"contact_id": str(contact_id)})], now)
    after = (await conn.execute(select(*SUMMARY_COLUMNS).where(Contact.id == contact_id))).one()
    return ContactEdit(summary_of(after), tuple(changed), tuple(events))


async def record_payment_view(
    conn: AsyncConnection,
    contact_id: uuid.UUID,
    agreement_ids: Sequence[uuid.UUID],
    *,
    actor: str,
    role: str,
    now: datetime,
) -> None:
    """Write to the audit log that ``actor`` was shown these agreements' payment fields."""
    detail = {"agreements": [str(as_uuid(a)) for a in agreement_ids], "role": role}
    await audit(
        conn,
        actor=actor,
        action="contact.payment_viewed",
        subject_type="contact",
        subject_id=contact_id,
        detail=detail,
        now=now,
    )
