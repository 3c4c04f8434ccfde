"""The customer 360 view, read in one statement with JSON aggregation in scalar subqueries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, Integer, Select, and_, cast, func, join, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from crm_core._contact_views import (
    SUMMARY_COLUMNS,
    AgreementView,
    AnyRow,
    CaseView,
    ContactFigures,
    Customer360,
    IdentityView,
    RecentInteraction,
    summary_of,
)
from crm_core._jsonsql import (
    as_bool,
    as_date,
    as_datetime,
    as_optional_datetime,
    as_optional_uuid,
    as_uuid,
    json_array_of,
    json_nested,
    json_object_of,
)
from crm_core.models import (
    Agreement,
    Case,
    Contact,
    ContactIdentity,
    ContactTag,
    Conversation,
    ConversationStatus,
    CsatResponse,
    Direction,
    Interaction,
    Organisation,
    SlaTier,
    Tag,
)

__all__ = ["CLOSED_CASE_STATUSES", "customer_360"]

CLOSED_CASE_STATUSES = ("resolved", "closed")
_ACTIVE_CONVERSATION = (ConversationStatus.OPEN.value, ConversationStatus.PENDING.value)
# A merge chain longer than this is corrupt data, not history: stop following it.
_MAX_MERGE_HOPS = 16


def _survivor_of(contact_id: uuid.UUID) -> ColumnElement[Any]:
    """The contact that ``contact_id`` ends up in after following merges (itself if never merged)."""
    origin = Contact.__table__.alias("origin")
    chain = (
        select(
            origin.c.id.label("id"),
            origin.c.merged_into_id.label("next_id"),
            literal_column("0", Integer).label("hops"),
        )
        .where(origin.c.id == contact_id)
        .cte("merge_chain", recursive=True)
    )
    hop = Contact.__table__.alias("hop")
    chain = chain.union_all(
        select(hop.c.id, hop.c.merged_into_id, chain.c.hops + 1).where(
            hop.c.id == chain.c.next_id, chain.c.hops < _MAX_MERGE_HOPS
        )
    )
    return select(chain.c.id).where(chain.c.next_id.is_(None)).limit(1).scalar_subquery()


def _identities(dialect: str) -> ColumnElement[Any]:
    ci = ContactIdentity
    element = json_object_of(
        dialect,
        {
            "id": ci.id,
            "channel": ci.channel,
            "account": ci.account,
            "external_id": ci.external_id,
            "created_at": ci.created_at,
        },
    )
    return select(json_array_of(dialect, element)).where(ci.contact_id == Contact.id).scalar_subquery()


def _agreements(dialect: str) -> ColumnElement[Any]:
    a = Agreement
    element = json_object_of(
        dialect,
        {
            "id": a.id,
            "contact_id": a.contact_id,
            "organisation_id": a.organisation_id,
            "product": a.product,
            "sla_tier": SlaTier.name,
            "first_response_seconds": SlaTier.first_response_seconds,
            "resolution_seconds": SlaTier.resolution_seconds,
            "entitlements": json_nested(dialect, a.entitlements),
            "payment_plan": a.payment_plan,
            "payment_status": a.payment_status,
            "starts_on": a.starts_on,
            "ends_on": a.ends_on,
        },
    )
    party = or_(
        a.contact_id == Contact.id,
        and_(Contact.organisation_id.is_not(None), a.organisation_id == Contact.organisation_id),
    )
    return (
        select(json_array_of(dialect, element))
        .select_from(join(Agreement, SlaTier, a.sla_tier == SlaTier.name))
        .where(party)
        .scalar_subquery()
    )


def _open_cases(dialect: str) -> ColumnElement[Any]:
    element = json_object_of(
        dialect,
        {
            "id": Case.id,
            "conversation_id": Case.conversation_id,
            "type": Case.type,
            "step": Case.step,
            "status": Case.status,
            "priority": Case.priority,
            "title": Case.title,
            "opened_at": Case.opened_at,
            "due_at": Case.due_at,
        },
    )
    return (
        select(json_array_of(dialect, element))
        .where(Case.contact_id == Contact.id, Case.status.not_in(CLOSED_CASE_STATUSES))
        .scalar_subquery()
    )


def _recent_interactions(dialect: str, recent: int) -> ColumnElement[Any]:
    i = Interaction
    newest = Interaction.__table__.alias("newest")
    # Two levels down from the contact row, so correlate explicitly (auto-correlation is one level).
    newest_ids = (
        select(newest.c.id)
        .where(newest.c.contact_id == Contact.id)
        .order_by(newest.c.occurred_at.desc(), newest.c.id.desc())
        .limit(recent)
        .correlate(Contact)
    )
    element = json_object_of(
        dialect,
        {
            "id": i.id,
            "conversation_id": i.conversation_id,
            "channel": i.channel,
            "direction": i.direction,
            "kind": i.kind,
            "private": i.private,
            "text": i.text,
            "occurred_at": i.occurred_at,
            "delivery_status": i.delivery_status,
        },
    )
    return select(json_array_of(dialect, element)).where(i.id.in_(newest_ids)).scalar_subquery()


def _tags(dialect: str) -> ColumnElement[Any]:
    return (
        select(json_array_of(dialect, Tag.name))
        .select_from(join(ContactTag, Tag, ContactTag.tag_id == Tag.id))
        .where(ContactTag.contact_id == Contact.id)
        .scalar_subquery()
    )


def _figures() -> list[ColumnElement[Any]]:
    def count_of(model: type[Any], *where: ColumnElement[bool]) -> ColumnElement[Any]:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    mine = Interaction.contact_id == Contact.id
    return [
        count_of(Interaction, mine).label("interactions_total"),
        count_of(Conversation, Conversation.contact_id == Contact.id).label("conversations_total"),
        count_of(
            Conversation, Conversation.contact_id == Contact.id, Conversation.status.in_(_ACTIVE_CONVERSATION)
        ).label("conversations_open"),
        count_of(Case, Case.contact_id == Contact.id).label("cases_total"),
        count_of(Case, Case.contact_id == Contact.id, Case.status.not_in(CLOSED_CASE_STATUSES)).label(
            "cases_open"
        ),
        select(func.min(Interaction.occurred_at)).where(mine).scalar_subquery().label("first_seen"),
        select(func.max(Interaction.occurred_at))
        .where(mine, Interaction.direction == Direction.IN.value)
        .scalar_subquery()
        .label("last_seen"),
        select(func.avg(cast(CsatResponse.score, Float)))
        .where(CsatResponse.contact_id == Contact.id)
        .scalar_subquery()
        .label("csat_average"),
        count_of(CsatResponse, CsatResponse.contact_id == Contact.id).label("csat_count"),
    ]


def _customer_360_query(dialect: str, contact_id: uuid.UUID, recent: int) -> Select[*tuple[Any, ...]]:
    organisation_name = select(Organisation.name).where(Organisation.id == Contact.organisation_id)
    return select(
        *SUMMARY_COLUMNS,
        organisation_name.scalar_subquery().label("organisation_name"),
        _identities(dialect).label("identities"),
        _agreements(dialect).label("agreements"),
        _open_cases(dialect).label("open_cases"),
        _recent_interactions(dialect, max(recent, 0)).label("recent"),
        _tags(dialect).label("tags"),
        *_figures(),
    ).where(Contact.id == _survivor_of(contact_id))


def _identity(item: dict[str, Any]) -> IdentityView:
    return IdentityView(
        id=as_uuid(item["id"]),
        channel=item["channel"],
        account=item["account"],
        external_id=item["external_id"],
        created_at=as_datetime(item["created_at"]),
    )


def _agreement(item: dict[str, Any]) -> AgreementView:
    return AgreementView(
        id=as_uuid(item["id"]),
        contact_id=as_optional_uuid(item["contact_id"]),
        organisation_id=as_optional_uuid(item["organisation_id"]),
        product=item["product"],
        sla_tier=item["sla_tier"],
        first_response_seconds=int(item["first_response_seconds"]),
        resolution_seconds=int(item["resolution_seconds"]),
        entitlements=tuple(item["entitlements"] or ()),
        payment_plan=item["payment_plan"],
        payment_status=item["payment_status"],
        starts_on=as_date(item["starts_on"]),
        ends_on=None if item["ends_on"] is None else as_date(item["ends_on"]),
    )


def _case(item: dict[str, Any]) -> CaseView:
    return CaseView(
        id=as_uuid(item["id"]),
        conversation_id=as_optional_uuid(item["conversation_id"]),
        type=item["type"],
        step=item["step"],
        status=item["status"],
        priority=item["priority"],
        title=item["title"],
        opened_at=as_datetime(item["opened_at"]),
        due_at=as_optional_datetime(item["due_at"]),
    )


def _interaction(item: dict[str, Any]) -> RecentInteraction:
    return RecentInteraction(
        id=as_uuid(item["id"]),
        conversation_id=as_uuid(item["conversation_id"]),
        channel=item["channel"],
        direction=item["direction"],
        kind=item["kind"],
        private=as_bool(item["private"]),
        text=item["text"],
        occurred_at=as_datetime(item["occurred_at"]),
        delivery_status=item["delivery_status"],
    )


def _figures_of(row: AnyRow) -> ContactFigures:
    return ContactFigures(
        interactions_total=int(row.interactions_total),
        conversations_total=int(row.conversations_total),
        conversations_open=int(row.conversations_open),
        cases_total=int(row.cases_total),
        cases_open=int(row.cases_open),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        csat_average=None if row.csat_average is None else float(row.csat_average),
        csat_count=int(row.csat_count),
    )


async def customer_360(
    conn: AsyncConnection, contact_id: uuid.UUID, *, recent: int = 50
) -> Customer360 | None:
    """The 360 view of a contact (of its survivor if it was merged), read in one statement."""
    row = (await conn.execute(_customer_360_query(conn.dialect.name, contact_id, recent))).one_or_none()
    if row is None:
        return None
    # JSON arrays carry no order we can rely on across dialects: order them here.
    identities = sorted(map(_identity, row.identities), key=lambda x: (x.channel, x.created_at, x.id))
    agreements = sorted(map(_agreement, row.agreements), key=lambda x: (x.starts_on, x.id), reverse=True)
    cases = sorted(map(_case, row.open_cases), key=lambda x: (x.opened_at, x.id), reverse=True)
    interactions = sorted(map(_interaction, row.recent), key=lambda x: (x.occurred_at, x.id), reverse=True)
    return Customer360(
        requested_id=as_uuid(contact_id),
        contact=summary_of(row),
        organisation_name=row.organisation_name,
        identities=tuple(identities),
        agreements=tuple(agreements),
        open_cases=tuple(cases),
        recent_interactions=tuple(interactions),
        tags=tuple(sorted(row.tags)),
        figures=_figures_of(row),
    )
