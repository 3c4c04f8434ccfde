"""Contacts: search, lookup, merge and the customer 360 view."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import exists, func, or_, select
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
from crm_core._jsonsql import Expr
from crm_core._merge import MergeOutcome, merge_contacts
from crm_core.models import Contact, ContactIdentity

__all__ = [
    "AgreementView",
    "CaseView",
    "ContactFigures",
    "ContactSummary",
    "Customer360",
    "IdentityView",
    "MergeOutcome",
    "RecentInteraction",
    "customer_360",
    "get_contact",
    "merge_contacts",
    "search_contacts",
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
