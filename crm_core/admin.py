"""Administration of the people who work: agents (teams, skills with levels, limits), teams and skills.

Every change is audited; changes to agents are announced as ``agent.updated`` (limits and teams decide
what round-robin may give them, so the assigner looks at its backlog again).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core._jsonsql import as_uuid
from crm_core.accounts import create_agent, hash_password, revoke_agent_tokens
from crm_core.audit import audit
from crm_core.db import new_id, table
from crm_core.errors import Conflict, NotFoundError
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import (
    Agent,
    AgentSkill,
    Availability,
    ChannelAccount,
    Conversation,
    ConversationStatus,
    Role,
    Skill,
    Team,
    TeamMember,
)

__all__ = [
    "AGENT_FIELDS",
    "AgentDetail",
    "Named",
    "SkillLevel",
    "add_agent",
    "create_named",
    "delete_named",
    "get_agent",
    "list_agents",
    "list_named",
    "rename_named",
    "update_agent",
]

AGENT_FIELDS = frozenset({"name", "role", "active", "max_open", "phone", "password", "teams", "skills"})
"""What :func:`update_agent` may change."""


@dataclass(frozen=True, slots=True)
class Named:
    """A team or a skill."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class SkillLevel:
    id: uuid.UUID
    name: str
    level: int


@dataclass(frozen=True, slots=True)
class AgentDetail:
    """An agent as the administration sees them (never the password hash)."""

    id: uuid.UUID
    name: str
    email: str
    role: str
    active: bool
    availability: str
    max_open: int
    phone: str | None
    teams: list[Named]
    skills: list[SkillLevel]
    open_count: int


async def _audit(
    conn: AsyncConnection,
    actor: str,
    action: str,
    kind: str,
    subject: uuid.UUID,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    await audit(
        conn, actor=actor, action=action, subject_type=kind, subject_id=subject, detail=detail, now=now
    )


async def list_agents(
    conn: AsyncConnection, agent_ids: Sequence[uuid.UUID] | None = None
) -> list[AgentDetail]:
    """Every agent (or those named), by name, with teams, skills and how many open conversations they hold."""
    agents, members, teams = table(Agent), table(TeamMember), table(Team)
    query = select(
        agents.c.id,
        agents.c.name,
        agents.c.email,
        agents.c.role,
        agents.c.active,
        agents.c.availability,
        agents.c.max_open,
        agents.c.phone,
    ).where(agents.c.role != Role.SERVICE.value)
    if agent_ids is not None:
        query = query.where(agents.c.id.in_(agent_ids))
    rows = (await conn.execute(query.order_by(agents.c.name, agents.c.id))).all()
    ids = [r.id for r in rows]
    team_rows = await conn.execute(
        select(members.c.agent_id, teams.c.id, teams.c.name)
        .join(teams, teams.c.id == members.c.team_id)
        .where(members.c.agent_id.in_(ids))
        .order_by(teams.c.name)
    )
    by_agent: dict[str, list[Named]] = {}
    for agent_id, team_id, name in team_rows:
        by_agent.setdefault(str(agent_id), []).append(Named(as_uuid(team_id), name))
    skill_rows = await conn.execute(
        select(AgentSkill.agent_id, Skill.id, Skill.name, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.agent_id.in_(ids))
        .order_by(Skill.name)
    )
    skills: dict[str, list[SkillLevel]] = {}
    for agent_id, skill_id, name, level in skill_rows:
        skills.setdefault(str(agent_id), []).append(SkillLevel(as_uuid(skill_id), name, level))
    convs = table(Conversation)
    counts = await conn.execute(
        select(convs.c.assignee_id, func.count())
        .where(convs.c.assignee_id.in_(ids), convs.c.status == ConversationStatus.OPEN.value)
        .group_by(convs.c.assignee_id)
    )
    load = {str(agent_id): count for agent_id, count in counts}
    return [
        AgentDetail(
            id=as_uuid(r.id),
            name=r.name,
            email=r.email,
            role=r.role,
            active=bool(r.active),
            availability=r.availability,
            max_open=r.max_open,
            phone=r.phone,
            teams=by_agent.get(str(r.id), []),
            skills=skills.get(str(r.id), []),
            open_count=load.get(str(r.id), 0),
        )
        for r in rows
    ]


async def get_agent(conn: AsyncConnection, agent_id: uuid.UUID) -> AgentDetail:
    """One agent's detail; NotFoundError when there is none."""
    found = await list_agents(conn, [agent_id])
    if not found:
        raise NotFoundError(f"agent {agent_id} not found")
    return found[0]


async def _require(conn: AsyncConnection, model: type[Team] | type[Skill], ids: Sequence[uuid.UUID]) -> None:
    tbl = table(model)
    known = set((await conn.execute(select(tbl.c.id).where(tbl.c.id.in_(ids)))).scalars())
    missing = [str(i) for i in ids if i not in known]
    if missing:
        raise NotFoundError(f"{tbl.name} not found: {', '.join(missing)}")


async def _set_teams(conn: AsyncConnection, agent_id: uuid.UUID, team_ids: Sequence[uuid.UUID]) -> None:
    await _require(conn, Team, team_ids)
    members = table(TeamMember)
    kept = set(team_ids)
    current = set(
        (await conn.execute(select(members.c.team_id).where(members.c.agent_id == agent_id))).scalars()
    )
    gone = current - kept
    if gone:
        await conn.execute(delete(members).where(members.c.agent_id == agent_id, members.c.team_id.in_(gone)))
    added = [{"team_id": t, "agent_id": agent_id, "last_assigned_at": None} for t in kept - current]
    if added:
        # A newcomer's rotation stamp is empty: they are next in line, which is what a new member expects.
        await conn.execute(insert(members), added)


async def _set_skills(conn: AsyncConnection, agent_id: uuid.UUID, levels: Mapping[uuid.UUID, int]) -> None:
    await _require(conn, Skill, list(levels))
    tbl = table(AgentSkill)
    await conn.execute(delete(tbl).where(tbl.c.agent_id == agent_id))
    if levels:
        await conn.execute(
            insert(tbl),
            [{"agent_id": agent_id, "skill_id": s, "level": level} for s, level in levels.items()],
        )


async def add_agent(
    conn: AsyncConnection,
    *,
    name: str,
    email: str,
    role: Role,
    password: str | None,
    actor: str,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> tuple[AgentDetail, list[StoredEvent]]:
    """Create an agent (Conflict on a taken email), then apply ``extra`` as :func:`update_agent` does."""
    view = await create_agent(conn, name=name, email=email, role=role, password=password, now=now)
    await _audit(
        conn, actor, "agent.created", "agent", view.id, {"email": view.email, "role": role.value}, now
    )
    _detail, events = await update_agent(conn, view.id, dict(extra or {}), actor=actor, now=now, audit=False)
    return await get_agent(conn, view.id), events


async def update_agent(
    conn: AsyncConnection,
    agent_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    audit: bool = True,
) -> tuple[AgentDetail, list[StoredEvent]]:
    """Change an agent: ``teams`` is a list of team ids, ``skills`` maps skill ids to levels (1-5).

    A deactivated agent is also set offline, so round-robin passes them by. A new role or password, or a
    deactivation, revokes the agent's tokens (their console sessions too).
    """
    unknown = set(changes) - AGENT_FIELDS
    if unknown:
        raise ValueError(f"unknown agent fields: {', '.join(sorted(unknown))}")
    agents = table(Agent)
    current = (await conn.execute(select(agents.c.role).where(agents.c.id == agent_id))).first()
    if current is None:
        raise NotFoundError(f"agent {agent_id} not found")
    values: dict[str, Any] = {k: changes[k] for k in ("name", "max_open", "phone", "active") if k in changes}
    if "role" in changes:
        values["role"] = Role(changes["role"]).value
    if changes.get("active") is False:
        values["availability"] = Availability.OFFLINE.value
    if changes.get("password"):
        values["password_hash"] = await asyncio.to_thread(hash_password, changes["password"])
    if values:
        await conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
    # A changed role or password, or a deactivation, ends the agent's sessions and tokens: a demoted admin
    # must not keep admin rights until their session expires.
    if (
        values.get("role", current.role) != current.role
        or "password_hash" in values
        or values.get("active") is False
    ):
        await revoke_agent_tokens(conn, agent_id, now)
    if "teams" in changes:
        await _set_teams(conn, agent_id, list(changes["teams"]))
    if "skills" in changes:
        await _set_skills(conn, agent_id, dict(changes["skills"]))
    if audit:
        detail = {k: v for k, v in changes.items() if k not in ("password", "teams", "skills")}
        detail.update({k: True for k in ("password", "teams", "skills") if k in changes})
        await _audit(conn, actor, "agent.updated", "agent", agent_id, _jsonable(detail), now)
    events = await add_events(conn, [EventDraft("agent.updated", {"agent_id": str(agent_id)})], now)
    return await get_agent(conn, agent_id), events


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in detail.items()}


_NAMED: dict[str, type[Team] | type[Skill]] = {"team": Team, "skill": Skill}


async def list_named(conn: AsyncConnection, kind: str) -> list[Named]:
    """Every team (``kind="team"``) or skill (``"skill"``), by name."""
    tbl = table(_NAMED[kind])
    rows = await conn.execute(select(tbl.c.id, tbl.c.name).order_by(tbl.c.name))
    return [Named(as_uuid(i), name) for i, name in rows]


async def _unique_name(conn: AsyncConnection, kind: str, name: str, but: uuid.UUID | None = None) -> None:
    tbl = table(_NAMED[kind])
    query = select(tbl.c.id).where(func.lower(tbl.c.name) == name.lower())
    if but is not None:
        query = query.where(tbl.c.id != but)
    if (await conn.execute(query)).first() is not None:
        raise Conflict(f"a {kind} named {name!r} exists")


async def create_named(conn: AsyncConnection, kind: str, name: str, *, actor: str, now: datetime) -> Named:
    """Add a team or a skill; Conflict when the name is taken (case-insensitively)."""
    await _unique_name(conn, kind, name)
    item = Named(as_uuid(new_id()), name)
    await conn.execute(insert(table(_NAMED[kind])).values(id=item.id, name=name))
    await _audit(conn, actor, f"{kind}.created", kind, item.id, {"name": name}, now)
    return item


async def rename_named(
    conn: AsyncConnection, kind: str, item_id: uuid.UUID, name: str, *, actor: str, now: datetime
) -> Named:
    """Rename a team or a skill."""
    await _unique_name(conn, kind, name, but=item_id)
    tbl = table(_NAMED[kind])
    if not (await conn.execute(update(tbl).where(tbl.c.id == item_id).values(name=name))).rowcount:
        raise NotFoundError(f"{kind} {item_id} not found")
    await _audit(conn, actor, f"{kind}.renamed", kind, item_id, {"name": name}, now)
    return Named(item_id, name)


async def delete_named(
    conn: AsyncConnection, kind: str, item_id: uuid.UUID, *, actor: str, now: datetime
) -> None:
    """Delete a skill (agents lose it), or a team no conversation or channel account uses (or Conflict)."""
    tbl = table(_NAMED[kind])
    if (await conn.execute(select(tbl.c.id).where(tbl.c.id == item_id))).first() is None:
        raise NotFoundError(f"{kind} {item_id} not found")
    if kind == "team":
        convs, accounts = table(Conversation), table(ChannelAccount)
        used = (
            await conn.execute(select(convs.c.id).where(convs.c.team_id == item_id).limit(1))
        ).first() or (
            await conn.execute(select(accounts.c.id).where(accounts.c.default_team_id == item_id).limit(1))
        ).first()
        if used is not None:
            raise Conflict("conversations or channel accounts belong to this team: move them first")
        await conn.execute(delete(table(TeamMember)).where(table(TeamMember).c.team_id == item_id))
    else:
        await conn.execute(delete(table(AgentSkill)).where(table(AgentSkill).c.skill_id == item_id))
    try:
        await conn.execute(delete(tbl).where(tbl.c.id == item_id))
    except IntegrityError as err:
        raise Conflict(f"this {kind} is still in use") from err
    await _audit(conn, actor, f"{kind}.deleted", kind, item_id, {}, now)
