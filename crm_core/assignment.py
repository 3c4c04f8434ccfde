"""Agent availability and round-robin auto-assignment within a team, under each agent's limit.

The rotation lives in the database (``team_members.last_assigned_at``), so every hub process continues it.
Each assignment is one transaction that first locks the team's agents (``FOR UPDATE`` on PostgreSQL, the
writer lock on SQLite), then counts their open conversations: two assigners, in one process or several,
never put an agent over their limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._jsonsql import as_uuid
from crm_core.audit import audit
from crm_core.context import MACHINE_MAIL_FOR_PEOPLE, machine_mail
from crm_core.db import new_id, table
from crm_core.errors import NotFoundError
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import (
    Agent,
    Availability,
    ChannelAccount,
    Conversation,
    ConversationStatus,
    Interaction,
    TeamMember,
)
from crm_core.work import assign

__all__ = [
    "ACTOR",
    "Routed",
    "assign_next",
    "backlog",
    "inbound_conversations",
    "note_channel_accounts",
    "set_availability",
]

ACTOR = "system:round-robin"
"""How the audit log names automatic assignment."""

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Routed:
    """What :func:`assign_next` did: the agent (None: nobody was free) and team it gave the conversation."""

    conversation_id: uuid.UUID
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    events: list[StoredEvent] = field(default_factory=list)


async def set_availability(
    conn: AsyncConnection, agent_id: uuid.UUID, availability: Availability, *, actor: str, now: datetime
) -> list[StoredEvent]:
    """Mark an agent online, away or offline (audited, announced as ``agent.availability_changed``)."""
    agents = table(Agent)
    before = (await conn.execute(select(agents.c.availability).where(agents.c.id == agent_id))).scalar()
    if before is None:
        raise NotFoundError(f"agent {agent_id} not found")
    if before == availability.value:
        return []
    await conn.execute(update(agents).where(agents.c.id == agent_id).values(availability=availability.value))
    await audit(
        conn,
        actor=actor,
        action="agent.availability_changed",
        subject_type="agent",
        subject_id=agent_id,
        detail={"from": before, "to": availability.value},
        now=now,
    )
    return await add_events(
        conn, [EventDraft("agent.availability_changed", {"agent_id": str(agent_id)})], now
    )


async def _take_writer_lock(conn: AsyncConnection) -> None:
    # SQLite has no row locks: a write that changes nothing takes the database's one writer lock now,
    # before anything is read, so another process's assigner waits (busy_timeout) instead of racing.
    if conn.dialect.name == "sqlite":
        members = table(TeamMember)
        await conn.execute(update(members).where(false()).values(last_assigned_at=members.c.last_assigned_at))


async def _default_team(conn: AsyncConnection, channel: str, account: str) -> uuid.UUID | None:
    accounts = table(ChannelAccount)
    query = select(accounts.c.default_team_id).where(
        accounts.c.channel == channel, accounts.c.account == account
    )
    found: uuid.UUID | None = (await conn.execute(query)).scalar()
    return found


async def _pick(conn: AsyncConnection, team_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    """The next member of the team in the rotation who is online and under their limit; moves the rotation."""
    agents, members, convs = table(Agent), table(TeamMember), table(Conversation)
    rows = (
        await conn.execute(
            select(
                agents.c.id,
                agents.c.active,
                agents.c.availability,
                agents.c.max_open,
                members.c.last_assigned_at,
            )
            .join(members, members.c.agent_id == agents.c.id)
            .where(members.c.team_id == team_id)
            # One lock order (by id) for every assigner: no deadlocks between teams that share agents.
            .order_by(agents.c.id)
            .with_for_update(of=agents)
        )
    ).all()
    ready = [r for r in rows if r.active and r.availability == Availability.ONLINE.value]
    if not ready:
        return None
    counted = await conn.execute(
        select(convs.c.assignee_id, func.count())
        .where(
            convs.c.assignee_id.in_([r.id for r in ready]), convs.c.status == ConversationStatus.OPEN.value
        )
        .group_by(convs.c.assignee_id)
    )
    load = {str(agent): count for agent, count in counted}
    free = [r for r in ready if load.get(str(r.id), 0) < r.max_open]
    if not free:
        return None
    # Longest since their last conversation from this team first; never assigned counts as longest.
    chosen = min(free, key=lambda r: (r.last_assigned_at is not None, r.last_assigned_at or now, str(r.id)))
    latest = max((r.last_assigned_at for r in rows if r.last_assigned_at is not None), default=None)
    stamp = now if latest is None or latest < now else latest + _TICK
    await conn.execute(
        update(members)
        .where(members.c.team_id == team_id, members.c.agent_id == chosen.id)
        .values(last_assigned_at=stamp)
    )
    agent_id: uuid.UUID = chosen.id
    return agent_id


async def assign_next(conn: AsyncConnection, conversation_id: uuid.UUID, *, now: datetime) -> Routed:
    """Give an open, unassigned conversation to the next free agent of its team (or its account's default
    team); nothing happens to one that is assigned, not open, or has no team."""
    await _take_writer_lock(conn)
    convs = table(Conversation)
    row = (
        await conn.execute(
            select(convs.c.status, convs.c.assignee_id, convs.c.team_id, convs.c.channel, convs.c.account)
            .where(convs.c.id == conversation_id, convs.c.closed_at.is_(None))
            .with_for_update()
        )
    ).first()
    if row is None or row.assignee_id is not None or row.status != ConversationStatus.OPEN.value:
        return Routed(conversation_id)
    team_id = row.team_id or await _default_team(conn, row.channel, row.account)
    if team_id is None:
        return Routed(conversation_id)
    agent_id = await _pick(conn, team_id, now)
    if agent_id is None and team_id == row.team_id:
        return Routed(conversation_id, None, team_id)
    events = await assign(conn, conversation_id, agent_id=agent_id, team_id=team_id, actor=ACTOR, now=now)
    return Routed(conversation_id, agent_id, team_id, events)


def _for_people(convs: Any, bot_channels: Collection[str]) -> Any:
    """Conversations a person should take: not on a bot's channel, or handed over by the bot."""
    if not bot_channels:
        return true()
    return or_(convs.c.channel.not_in(list(bot_channels)), convs.c.handed_over_at.is_not(None))


async def backlog(
    conn: AsyncConnection, *, limit: int = 200, bot_channels: Collection[str] = ()
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Open, unassigned conversations with a team (theirs, or their account's default), oldest first:
    (conversation id, team id) pairs. Those the bot still handles (``bot_channels``) wait for its handover."""
    convs, accounts = table(Conversation), table(ChannelAccount)
    team = func.coalesce(convs.c.team_id, accounts.c.default_team_id)
    query = (
        select(convs.c.id, team)
        .outerjoin(
            accounts, (accounts.c.channel == convs.c.channel) & (accounts.c.account == convs.c.account)
        )
        .where(
            convs.c.status == ConversationStatus.OPEN.value,
            convs.c.assignee_id.is_(None),
            convs.c.closed_at.is_(None),
            team.is_not(None),
            _for_people(convs, bot_channels),
        )
        .order_by(convs.c.opened_at, convs.c.id)
        .limit(limit)
    )
    return [(as_uuid(c), as_uuid(t)) for c, t in await conn.execute(query)]


async def inbound_conversations(
    conn: AsyncConnection, interaction_ids: Sequence[uuid.UUID], *, bot_channels: Collection[str] = ()
) -> list[uuid.UUID]:
    """The conversations a customer wrote in with these interactions that are open and have no assignee
    (a read: what :func:`assign_next` should look at, so assigned ones cost no write lock). On a bot's
    channel (``bot_channels``) only once the bot has handed the conversation over."""
    if not interaction_ids:
        return []
    inter, convs = table(Interaction), table(Conversation)
    rows = await conn.execute(
        select(inter.c.conversation_id)
        .join(convs, convs.c.id == inter.c.conversation_id)
        .where(
            inter.c.id.in_(interaction_ids),
            inter.c.direction == "in",
            convs.c.assignee_id.is_(None),
            convs.c.status == ConversationStatus.OPEN.value,
            convs.c.closed_at.is_(None),
            _for_people(convs, bot_channels),
        )
    )
    return list(dict.fromkeys(rows.scalars().all()))


async def note_channel_accounts(
    conn: AsyncConnection, conversation_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Make sure the channel accounts these conversations came on are listed (for the admin to route)."""
    if not conversation_ids:
        return
    convs = table(Conversation)
    pairs = (
        await conn.execute(
            select(convs.c.channel, convs.c.account).where(convs.c.id.in_(conversation_ids)).distinct()
        )
    ).all()
    if not pairs:
        return
    rows: list[dict[str, Any]] = [
        {"id": new_id(), "channel": channel, "account": account, "display_name": None, "created_at": now}
        for channel, account in pairs
    ]
    tbl = table(ChannelAccount)
    maker: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(maker(tbl).on_conflict_do_nothing(index_elements=["channel", "account"]), rows)


async def bounced_bot_conversations(
    conn: AsyncConnection, interaction_ids: Sequence[uuid.UUID], bot_channels: Collection[str]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(conversation, interaction) of machine mail for people (bounces) among these interactions, in
    conversations the bot still holds: the bot never answers machine mail, but people must see these."""
    if not interaction_ids or not bot_channels:
        return []
    inter, convs = table(Interaction), table(Conversation)
    rows = await conn.execute(
        select(inter.c.conversation_id, inter.c.id, inter.c.details)
        .join(convs, convs.c.id == inter.c.conversation_id)
        .where(
            inter.c.id.in_(interaction_ids),
            inter.c.direction == "in",
            convs.c.channel.in_(list(bot_channels)),
            convs.c.handed_over_at.is_(None),
            convs.c.assignee_id.is_(None),
            convs.c.closed_at.is_(None),
        )
    )
    return [
        (as_uuid(row.conversation_id), as_uuid(row.id))
        for row in rows
        if machine_mail(row.details) in MACHINE_MAIL_FOR_PEOPLE
    ]
