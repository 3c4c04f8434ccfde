"""REST for administration (admin role): agents, teams, skills, channel accounts, canned responses.

Any signed-in role may read the agents and teams (the console's pickers) and the canned responses, and set
their own availability (``PUT /session/availability``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.admin import (
    AgentDetail,
    add_agent,
    create_named,
    delete_named,
    list_agents,
    list_named,
    rename_named,
    update_agent,
)
from crm_core.assignment import set_availability
from crm_core.canned import create_canned, delete_canned, list_canned, update_canned
from crm_core.channel_accounts import add_channel_account, edit_channel_account, list_channel_accounts
from crm_core.errors import Conflict as CrmConflict
from crm_core.errors import NotFoundError
from crm_core.events import StoredEvent
from crm_core.models import Availability, Role
from hub.api.auth import TOKEN_CACHE, Principal, require_role
from hub.api.params import body_id, json_body, optional_body_id, path_id, respond
from hub.errors import BadRequest, Conflict, NotFound
from hub.keys import DATABASE, PIPELINE
from hub.messages import utcnow

__all__ = ["admin_routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")
ADMIN = ("admin",)
PEOPLE_ROLES = frozenset({Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value})
MAX_CANNED_TEXT = 10_000


def _text(body: dict[str, Any], name: str, *, required: bool, limit: int = 200) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required", code="missing_field")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be a non-empty string", code="invalid_field")
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters", code="invalid_field")
    return value.strip()


def _agent_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The agent fields in ``body``, checked."""
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = _text(body, "name", required=True)
    if "role" in body:
        if body["role"] not in PEOPLE_ROLES:
            raise BadRequest(f"role must be one of {', '.join(sorted(PEOPLE_ROLES))}", code="invalid_field")
        changes["role"] = body["role"]
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise BadRequest("active must be true or false", code="invalid_field")
        changes["active"] = body["active"]
    if "max_open" in body:
        limit = body["max_open"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1000:
            raise BadRequest("max_open must be an integer from 0 to 1000", code="invalid_field")
        changes["max_open"] = limit
    if "phone" in body:
        changes["phone"] = _text(body, "phone", required=False, limit=80)
    if body.get("password") is not None:
        password = body["password"]
        if not isinstance(password, str) or len(password) < 8:
            raise BadRequest("password must be at least 8 characters", code="invalid_field")
        changes["password"] = password
    if "teams" in body:
        teams = body["teams"]
        if not isinstance(teams, list):
            raise BadRequest("teams must be a list of team ids", code="invalid_field")
        changes["teams"] = [body_id(t, "teams") for t in teams]
    if "skills" in body:
        changes["skills"] = _skill_levels(body["skills"])
    return changes


def _skill_levels(skills: Any) -> dict[uuid.UUID, int]:
    if not isinstance(skills, list):
        raise BadRequest("skills must be a list of {id, level}", code="invalid_field")
    levels: dict[uuid.UUID, int] = {}
    for item in skills:
        level = item.get("level", 1) if isinstance(item, dict) else None
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            raise BadRequest("each skill needs an id and a level from 1 to 5", code="invalid_field")
        levels[body_id(item.get("id"), "skills")] = level
    return levels


Work = Callable[[AsyncConnection], Awaitable[Any]]


async def _write(request: web.Request, work: Work) -> Any:
    """Run ``work`` in a write transaction; the CRM's errors become the API's."""
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            return await work(conn)
    except NotFoundError as err:
        raise NotFound(str(err)) from err
    except CrmConflict as err:
        raise Conflict(str(err), code="conflict") from err


async def _announce(request: web.Request, work: Work) -> Any:
    """:func:`_write` for work that answers (result, events): the events are relayed after the commit."""
    result, events = await _write(request, work)
    request.config_dict[PIPELINE].notify_committed(events)
    return result


def _public_agent(agent: AgentDetail, admin: bool) -> dict[str, Any]:
    data = dataclasses.asdict(agent)
    if not admin:
        return {k: data[k] for k in ("id", "name", "role", "availability", "teams")}
    return data


# ---- agents ------------------------------------------------------------------------------------------


async def agents_index(request: web.Request) -> web.Response:
    """Agents with their teams and availability; admins also see limits, skills, contact details."""
    principal = require_role(request, *ANY_ROLE)
    admin = principal.role == "admin"
    async with request.config_dict[DATABASE].reader.connect() as conn:
        agents = await list_agents(conn)
    items = [_public_agent(a, admin) for a in agents if admin or a.active]
    return respond({"items": items})


async def agent_create(request: web.Request) -> web.Response:
    """Add an agent who signs in with a password."""
    principal = require_role(request, *ADMIN)
    body = await json_body(request)
    name = _text(body, "name", required=True) or ""
    email = _text(body, "email", required=True, limit=320) or ""
    if body.get("password") is None:
        raise BadRequest("password is required", code="missing_field")
    changes = _agent_changes({**body, "role": body.get("role", "agent")})
    role, password = Role(changes.pop("role")), changes.pop("password")
    changes.pop("name", None)
    agent = await _announce(
        request,
        lambda conn: add_agent(
            conn,
            name=name,
            email=email,
            role=role,
            password=password,
            actor=principal.actor,
            now=utcnow(),
            extra=changes,
        ),
    )
    return respond(agent, status=201)


async def agent_update(request: web.Request) -> web.Response:
    """Change an agent's name, role, teams, skills, limit, phone, password or whether they are active."""
    principal = require_role(request, *ADMIN)
    changes = _agent_changes(await json_body(request))
    agent_id = path_id(request)
    agent = await _announce(
        request, lambda conn: update_agent(conn, agent_id, changes, actor=principal.actor, now=utcnow())
    )
    request.config_dict[TOKEN_CACHE].forget_agent(str(agent_id))
    return respond(agent)


async def availability_update(request: web.Request) -> web.Response:
    """Set your own availability: online (round-robin gives you conversations), away or offline."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    try:
        availability = Availability(str(body.get("availability")))
    except ValueError as err:
        raise BadRequest("availability must be online, away or offline", code="invalid_field") from err
    agent_id = _own_agent(principal)
    await _announce(
        request,
        lambda conn: _with_events(
            set_availability(conn, agent_id, availability, actor=principal.actor, now=utcnow())
        ),
    )
    return respond({"agent_id": agent_id, "availability": availability.value})


async def _with_events(events: Awaitable[list[StoredEvent]]) -> tuple[None, list[StoredEvent]]:
    return None, await events


def _own_agent(principal: Principal) -> uuid.UUID:
    if principal.agent_id is None:
        raise BadRequest("this token belongs to no agent", code="invalid_field")
    return uuid.UUID(principal.agent_id)


# ---- teams and skills --------------------------------------------------------------------------------


def _named_routes(kind: str, path: str) -> list[web.RouteDef]:
    async def index(request: web.Request) -> web.Response:
        require_role(request, *ANY_ROLE)
        async with request.config_dict[DATABASE].reader.connect() as conn:
            items = await list_named(conn, kind)
        return respond({"items": items})

    async def create(request: web.Request) -> web.Response:
        principal = require_role(request, *ADMIN)
        name = _text(await json_body(request), "name", required=True, limit=120) or ""
        item = await _write(
            request, lambda conn: create_named(conn, kind, name, actor=principal.actor, now=utcnow())
        )
        return respond(item, status=201)

    async def rename(request: web.Request) -> web.Response:
        principal = require_role(request, *ADMIN)
        name = _text(await json_body(request), "name", required=True, limit=120) or ""
        item_id = path_id(request)
        item = await _write(
            request, lambda conn: rename_named(conn, kind, item_id, name, actor=principal.actor, now=utcnow())
        )
        return respond(item)

    async def remove(request: web.Request) -> web.Response:
        principal = require_role(request, *ADMIN)
        item_id = path_id(request)
        await _write(
            request, lambda conn: delete_named(conn, kind, item_id, actor=principal.actor, now=utcnow())
        )
        return respond({"deleted": True, "id": item_id})

    index.__doc__ = f"Every {kind}, by name."
    create.__doc__ = f"Add a {kind}."
    rename.__doc__ = f"Rename a {kind}."
    remove.__doc__ = f"Delete a {kind}."
    return [
        web.get(path, index),
        web.post(path, create),
        web.put(path + "/{id}", rename),
        web.delete(path + "/{id}", remove),
    ]


# ---- channel accounts --------------------------------------------------------------------------------


async def channel_accounts_index(request: web.Request) -> web.Response:
    """Our numbers, bots and mailboxes per channel, with the team new conversations on them go to."""
    require_role(request, *ADMIN)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await list_channel_accounts(conn)
    return respond({"items": items})


async def channel_account_create(request: web.Request) -> web.Response:
    """List a channel account before traffic arrives on it."""
    principal = require_role(request, *ADMIN)
    body = await json_body(request)
    channel = _text(body, "channel", required=True, limit=40) or ""
    account = _text(body, "account", required=True) or ""
    display_name = _text(body, "display_name", required=False)
    team = optional_body_id(body, "default_team_id")
    item = await _write(
        request,
        lambda conn: add_channel_account(
            conn,
            channel=channel,
            account=account,
            display_name=display_name,
            default_team_id=team,
            actor=principal.actor,
            now=utcnow(),
        ),
    )
    return respond(item, status=201)


async def channel_account_update(request: web.Request) -> web.Response:
    """Change a channel account's display name or default team (null: no automatic routing)."""
    principal = require_role(request, *ADMIN)
    body = await json_body(request)
    changes: dict[str, Any] = {}
    if "display_name" in body:
        changes["display_name"] = _text(body, "display_name", required=False)
    if "default_team_id" in body:
        changes["default_team_id"] = optional_body_id(body, "default_team_id")
    item_id = path_id(request)
    item = await _announce(
        request,
        lambda conn: edit_channel_account(conn, item_id, changes, actor=principal.actor, now=utcnow()),
    )
    return respond(item)


# ---- canned responses --------------------------------------------------------------------------------


def _canned_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, limit in (("shortcut", 80), ("title", 200), ("text", MAX_CANNED_TEXT)):
        if not partial or name in body:
            fields[name] = _text(body, name, required=True, limit=limit)
    if "language" in body or not partial:
        fields["language"] = _text(body, "language", required=False, limit=16)
    return fields


async def canned_index(request: web.Request) -> web.Response:
    """Every canned response, by shortcut (placeholders such as ``{{contact.name}}`` unfilled)."""
    require_role(request, *ANY_ROLE)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await list_canned(conn)
    return respond({"items": items})


async def canned_create(request: web.Request) -> web.Response:
    """Add a canned response."""
    principal = require_role(request, *ADMIN)
    fields = _canned_fields(await json_body(request), partial=False)
    item = await _write(
        request, lambda conn: create_canned(conn, **fields, actor=principal.actor, now=utcnow())
    )
    return respond(item, status=201)


async def canned_update(request: web.Request) -> web.Response:
    """Change a canned response."""
    principal = require_role(request, *ADMIN)
    fields = _canned_fields(await json_body(request), partial=True)
    item_id = path_id(request)
    item = await _write(
        request, lambda conn: update_canned(conn, item_id, fields, actor=principal.actor, now=utcnow())
    )
    return respond(item)


async def canned_delete(request: web.Request) -> web.Response:
    """Delete a canned response."""
    principal = require_role(request, *ADMIN)
    item_id = path_id(request)
    await _write(request, lambda conn: delete_canned(conn, item_id, actor=principal.actor, now=utcnow()))
    return respond({"deleted": True, "id": item_id})


def admin_routes() -> list[web.RouteDef]:
    """Administration, the pickers' lists, canned responses and one's own availability."""
    return [
        web.get("/agents", agents_index),
        web.post("/agents", agent_create),
        web.put("/agents/{id}", agent_update),
        web.put("/session/availability", availability_update),
        *_named_routes("team", "/teams"),
        *_named_routes("skill", "/skills"),
        web.get("/channel-accounts", channel_accounts_index),
        web.post("/channel-accounts", channel_account_create),
        web.put("/channel-accounts/{id}", channel_account_update),
        web.get("/canned-responses", canned_index),
        web.post("/canned-responses", canned_create),
        web.put("/canned-responses/{id}", canned_update),
        web.delete("/canned-responses/{id}", canned_delete),
    ]
