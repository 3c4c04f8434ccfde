"""Demo data: customers, agreements, conversations, cases and agents to try the console with."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._demo_data import (
    ACCOUNTS,
    AGENTS,
    CUSTOMERS,
    DAY,
    ORGANISATIONS,
    SLA_TIERS,
    AgreementSpec,
    CaseSpec,
    ConversationSpec,
    CustomerSpec,
    Msg,
)
from crm_core.accounts import hash_password
from crm_core.db import Base, new_id
from crm_core.models import (
    Agent,
    AgentSkill,
    Agreement,
    AuditEntry,
    Case,
    Contact,
    ContactIdentity,
    ContactTag,
    Conversation,
    ConversationTag,
    CsatResponse,
    Interaction,
    Organisation,
    Skill,
    SlaTier,
    Tag,
    Team,
    TeamMember,
)

__all__ = ["DEMO_ADMIN_EMAIL", "DEMO_ADMIN_PASSWORD", "DemoSummary", "load_demo"]

DEMO_ADMIN_EMAIL = "admin@switchboard.example"
DEMO_ADMIN_PASSWORD = "switchboard-demo"  # noqa: S105 (printed by the CLI so people can sign in to the demo)
_MARKER = "demo.loaded"
_LOCK_KEY = 0x5B_DE40  # any constant no other advisory lock of ours uses
# Parents before children, so foreign keys hold at every insert.
_INSERT_ORDER: tuple[type[Base], ...] = (
    Organisation,
    Agent,
    AgentSkill,
    TeamMember,
    Contact,
    ContactIdentity,
    Agreement,
    Conversation,
    Interaction,
    Case,
    ContactTag,
    ConversationTag,
    CsatResponse,
    AuditEntry,
)
_CLOSED = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``load_demo`` did (``created`` False: the demo was there already) and where to sign in."""

    created: bool
    admin_email: str
    admin_password: str
    organisations: int = 0
    contacts: int = 0
    agents: int = 0
    conversations: int = 0
    interactions: int = 0
    cases: int = 0


@dataclass(slots=True)
class _Plan:
    """Rows to insert, table by table, and the ids they will be known by."""

    now: datetime
    rows: defaultdict[type[Base], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    ids: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)

    def add(self, model: type[Base], **values: Any) -> None:
        self.rows[model].append(values)

    def ago(self, minutes: int) -> datetime:
        return self.now - timedelta(minutes=minutes)


async def _ensure_named(conn: AsyncConnection, model: Any, names: set[str]) -> dict[str, uuid.UUID]:
    """Ids of the tags/skills/teams with these names, inserting the missing ones (names are unique)."""
    found = {row.name: row.id for row in await conn.execute(select(model.id, model.name))}
    missing = [{"id": new_id(), "name": name} for name in sorted(names - found.keys())]
    if missing:
        await conn.execute(insert(model), missing)
    return found | {row["name"]: row["id"] for row in missing}


async def _ensure_reference_data(conn: AsyncConnection, plan: _Plan) -> None:
    existing = set((await conn.execute(select(SlaTier.name))).scalars())
    tiers = [
        {"name": name, "first_response_seconds": first, "resolution_seconds": resolve, "description": text}
        for name, (first, resolve, text) in SLA_TIERS.items()
        if name not in existing
    ]
    if tiers:
        await conn.execute(insert(SlaTier), tiers)
    tags = {t for c in CUSTOMERS for t in c.tags} | {
        t for c in CUSTOMERS for v in c.conversations for t in v.tags
    }
    plan.ids["tag"] = await _ensure_named(conn, Tag, tags)
    plan.ids["skill"] = await _ensure_named(conn, Skill, {s for a in AGENTS for s, _ in a.skills})
    plan.ids["team"] = await _ensure_named(conn, Team, {t for a in AGENTS for t in a.teams})


def _plan_agents(plan: _Plan, admin_hash: str) -> None:
    plan.ids["agent"] = {}
    for spec in AGENTS:
        agent_id = plan.ids["agent"][spec.key] = new_id()
        plan.add(
            Agent,
            id=agent_id,
            name=spec.name,
            email=spec.email,
            role=spec.role,
            password_hash=admin_hash if spec.email == DEMO_ADMIN_EMAIL else None,
            active=True,
            languages=list(spec.languages),
            created_at=plan.ago(30 * DAY),
        )
        for skill, level in spec.skills:
            plan.add(AgentSkill, agent_id=agent_id, skill_id=plan.ids["skill"][skill], level=level)
        for team in spec.teams:
            plan.add(TeamMember, team_id=plan.ids["team"][team], agent_id=agent_id)


def _plan_agreement(
    plan: _Plan, spec: AgreementSpec, contact_id: uuid.UUID | None, org: uuid.UUID | None
) -> None:
    ends = None if spec.ends_in_days is None else (plan.now + timedelta(days=spec.ends_in_days)).date()
    plan.add(
        Agreement,
        id=new_id(),
        contact_id=contact_id,
        organisation_id=org,
        product=spec.product,
        sla_tier=spec.sla_tier,
        entitlements=list(spec.entitlements),
        payment_plan=spec.payment_plan,
        payment_status=spec.payment_status,
        starts_on=plan.ago(spec.started_days_ago * DAY).date(),
        ends_on=ends,
        created_at=plan.ago(spec.started_days_ago * DAY),
    )


def _plan_message(plan: _Plan, msg: Msg, conversation: dict[str, Any]) -> None:
    failed = msg.delivery_status == "failed"
    mail_in = conversation["channel"] == "email" and msg.direction == "in"
    plan.add(
        Interaction,
        id=new_id(),
        conversation_id=conversation["id"],
        contact_id=conversation["contact_id"],
        direction=msg.direction,
        kind=msg.kind,
        source_kind=("call" if msg.kind == "call" else "text") if msg.direction == "in" else None,
        private=msg.direction == "internal",
        text=msg.text or None,
        # A customer's mail carries the thread's subject; a call's steps their facts.
        subject=conversation["subject"] if mail_in else None,
        details=msg.details,
        attachments=[],
        channel=conversation["channel"],
        account=conversation["account"],
        # Notes and status changes never reach a provider, so they have no provider id.
        external_message_id=None if msg.direction == "internal" else f"demo-{new_id().hex}",
        delivery_status=msg.delivery_status,
        delivery_error="30003: Unreachable destination handset" if failed else None,
        author_agent_id=None if msg.agent is None else plan.ids["agent"][msg.agent],
        occurred_at=plan.ago(msg.minutes_ago),
        created_at=plan.ago(msg.minutes_ago),
    )


def _plan_conversation(
    plan: _Plan, spec: ConversationSpec, contact_id: uuid.UUID, identities: dict[str, str]
) -> uuid.UUID:
    first = plan.ago(max(m.minutes_ago for m in spec.messages))
    last = plan.ago(min(m.minutes_ago for m in spec.messages))
    conversation_id = new_id()
    row = {
        "id": conversation_id,
        "contact_id": contact_id,
        "channel": spec.channel,
        "account": ACCOUNTS[spec.channel],
        # One thread per chat partner: the identity's address is the provider's chat id.
        "thread_key": identities[spec.channel],
        "status": spec.status,
        "subject": spec.subject,
        "assignee_id": None if spec.assignee is None else plan.ids["agent"][spec.assignee],
        "team_id": None if spec.team is None else plan.ids["team"][spec.team],
        "priority": spec.priority,
        "opened_at": first,
        "last_message_at": last,
        "closed_at": last if spec.status in _CLOSED else None,
    }
    plan.add(Conversation, **row)
    for msg in spec.messages:
        _plan_message(plan, msg, row)
    for tag in spec.tags:
        plan.add(ConversationTag, conversation_id=conversation_id, tag_id=plan.ids["tag"][tag])
    if spec.csat is not None:
        score, comment = spec.csat
        plan.add(
            CsatResponse,
            id=new_id(),
            conversation_id=conversation_id,
            contact_id=contact_id,
            score=score,
            comment=comment,
            created_at=last + timedelta(minutes=5),
        )
    return conversation_id


def _plan_contact(plan: _Plan, spec: CustomerSpec) -> uuid.UUID:
    """The contact row and its identities, created a little before its oldest history."""
    oldest = max(
        [m.minutes_ago for c in spec.conversations for m in c.messages]
        + [a.started_days_ago * DAY for a in (*spec.agreements, *spec.organisation_agreements)]
    )
    created = plan.ago(oldest + 60)
    contact_id = new_id()
    plan.add(
        Contact,
        id=contact_id,
        display_name=spec.name,
        email=spec.email,
        phone=spec.phone,
        # The demo's customers wrote from these before: their providers vouched for them.
        verified_email=spec.email,
        verified_phone=spec.phone,
        language=spec.language,
        organisation_id=None if spec.organisation is None else plan.ids["organisation"][spec.organisation],
        merged_into_id=None,
        created_at=created,
        updated_at=created,
    )
    for channel, address in spec.identities:
        plan.add(
            ContactIdentity,
            id=new_id(),
            contact_id=contact_id,
            channel=channel,
            account=ACCOUNTS[channel],
            external_id=address,
            created_at=created,
        )
    return contact_id


def _plan_case(plan: _Plan, spec: CaseSpec, contact_id: uuid.UUID, conversations: list[uuid.UUID]) -> None:
    opened = plan.ago(spec.opened_minutes_ago)
    plan.add(
        Case,
        id=new_id(),
        contact_id=contact_id,
        conversation_id=None if spec.conversation is None else conversations[spec.conversation],
        type=spec.type,
        step=spec.step,
        status=spec.status,
        priority=spec.priority,
        title=spec.title,
        opened_at=opened,
        due_at=None if spec.due_in_hours is None else opened + timedelta(hours=spec.due_in_hours),
        closed_at=None if spec.status == "open" else opened + timedelta(hours=1),
    )


def _plan_customer(plan: _Plan, spec: CustomerSpec) -> None:
    contact_id = _plan_contact(plan, spec)
    organisation = None if spec.organisation is None else plan.ids["organisation"][spec.organisation]
    for agreement in spec.agreements:
        _plan_agreement(plan, agreement, contact_id, None)
    for agreement in spec.organisation_agreements:
        _plan_agreement(plan, agreement, None, organisation)
    identities = dict(spec.identities)
    conversations = [_plan_conversation(plan, c, contact_id, identities) for c in spec.conversations]
    for case in spec.cases:
        _plan_case(plan, case, contact_id, conversations)
    for tag in spec.tags:
        plan.add(ContactTag, contact_id=contact_id, tag_id=plan.ids["tag"][tag])


def _plan_organisations(plan: _Plan) -> None:
    plan.ids["organisation"] = {}
    for key, name in ORGANISATIONS.items():
        organisation_id = plan.ids["organisation"][key] = new_id()
        plan.add(Organisation, id=organisation_id, name=name, created_at=plan.ago(400 * DAY))


async def load_demo(conn: AsyncConnection, now: datetime) -> DemoSummary:
    """Load the demo in the caller's transaction, once; a second call changes nothing and says so."""
    if conn.dialect.name == "postgresql":
        # Several hub processes may start with --demo at once: the others wait here, then see the marker.
        await conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    marker = select(AuditEntry.id).where(AuditEntry.action == _MARKER).limit(1)
    if (await conn.execute(marker)).first() is not None:
        return DemoSummary(created=False, admin_email=DEMO_ADMIN_EMAIL, admin_password=DEMO_ADMIN_PASSWORD)
    plan = _Plan(now)
    await _ensure_reference_data(conn, plan)
    # scrypt is CPU-heavy: off the event loop.
    _plan_agents(plan, await asyncio.to_thread(hash_password, DEMO_ADMIN_PASSWORD))
    _plan_organisations(plan)
    for customer in CUSTOMERS:
        _plan_customer(plan, customer)
    plan.add(
        AuditEntry,
        id=new_id(),
        actor="system:demo",
        action=_MARKER,
        subject_type="demo",
        subject_id="demo",
        detail={"contacts": len(CUSTOMERS)},
        occurred_at=now,
    )
    for model in _INSERT_ORDER:
        if plan.rows[model]:
            await conn.execute(insert(model), plan.rows[model])
    return DemoSummary(
        created=True,
        admin_email=DEMO_ADMIN_EMAIL,
        admin_password=DEMO_ADMIN_PASSWORD,
        organisations=len(plan.rows[Organisation]),
        contacts=len(plan.rows[Contact]),
        agents=len(plan.rows[Agent]),
        conversations=len(plan.rows[Conversation]),
        interactions=len(plan.rows[Interaction]),
        cases=len(plan.rows[Case]),
    )
