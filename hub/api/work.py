"""REST for work on a conversation: assign, transfer with a note, resolve, reopen, snooze."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web

from crm_core.errors import Conflict as CrmConflict
from crm_core.errors import NotFoundError
from crm_core.models import ConversationStatus
from crm_core.outbox import ReplyDraft
from crm_core.work import assign, change_status
from hub.api.auth import Principal, require_role
from hub.api.params import json_body, optional_body_id, path_id, respond
from hub.errors import BadRequest, Conflict, NotFound
from hub.keys import DATABASE, OUTBOX, PIPELINE
from hub.messages import utcnow

__all__ = ["work_routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")


def _id(body: dict[str, Any], name: str, principal: Principal) -> uuid.UUID | None:
    if body.get(name) == "me" and name == "agent_id":
        if principal.agent_id is None:
            raise BadRequest("this token belongs to no agent: name the agent_id", code="invalid_field")
        return uuid.UUID(principal.agent_id)
    return optional_body_id(body, name)


async def _write(request: web.Request, work: Any, *args: Any, **kwargs: Any) -> None:
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            events = await work(conn, *args, **kwargs)
    except NotFoundError as err:
        raise NotFound(str(err)) from err
    except CrmConflict as err:
        raise Conflict(str(err)) from err
    request.config_dict[PIPELINE].notify_committed(events)


async def conversation_assign(request: web.Request) -> web.Response:
    """Assign to an agent (``"me"`` for yourself) and/or a team; nulls unassign."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    agent_id, team_id = _id(body, "agent_id", principal), _id(body, "team_id", principal)
    return await _assign(request, principal, agent_id, team_id, "conversation.assigned")


async def conversation_transfer(request: web.Request) -> web.Response:
    """Hand the conversation to another agent or team, with a private note for them."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    agent_id, team_id = _id(body, "agent_id", principal), _id(body, "team_id", principal)
    if agent_id is None and team_id is None:
        raise BadRequest("a transfer needs agent_id or team_id", code="missing_field")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise BadRequest("note must be a string", code="invalid_field")
    response = await _assign(request, principal, agent_id, team_id, "conversation.transferred")
    if note and note.strip():
        author = uuid.UUID(principal.agent_id) if principal.agent_id else None
        await request.config_dict[OUTBOX].queue(
            path_id(request), ReplyDraft(text=note, private=True, author_agent_id=author)
        )
    return response


async def _assign(
    request: web.Request,
    principal: Principal,
    agent_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    action: str,
) -> web.Response:
    conversation_id = path_id(request)
    await _write(
        request,
        assign,
        conversation_id,
        agent_id=agent_id,
        team_id=team_id,
        actor=principal.actor,
        now=utcnow(),
        action=action,
    )
    return respond({"conversation_id": conversation_id, "assignee_id": agent_id, "team_id": team_id})


def _status_handler(status: ConversationStatus) -> Any:
    async def handler(request: web.Request) -> web.Response:
        principal = require_role(request, *ANY_ROLE)
        conversation_id = path_id(request)
        await _write(request, change_status, conversation_id, status, actor=principal.actor, now=utcnow())
        return respond({"conversation_id": conversation_id, "status": status.value})

    handler.__doc__ = f"Set the conversation {status.value}."
    return handler


async def conversation_snooze(request: web.Request) -> web.Response:
    """Put the conversation aside (pending) until a time; it reopens then, or when the customer writes."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    until_text = body.get("until")
    try:
        until = datetime.fromisoformat(until_text) if isinstance(until_text, str) else None
    except ValueError:
        until = None
    if until is None or until.tzinfo is None:
        raise BadRequest("until must be an ISO 8601 time with a UTC offset", code="invalid_field")
    if until <= utcnow():
        raise BadRequest("until must be in the future", code="invalid_field")
    conversation_id = path_id(request)
    await _write(
        request,
        change_status,
        conversation_id,
        ConversationStatus.PENDING,
        actor=principal.actor,
        now=utcnow(),
        snoozed_until=until,
    )
    return respond({"conversation_id": conversation_id, "status": "pending", "snoozed_until": until})


def work_routes() -> list[web.RouteDef]:
    """Work on conversations."""
    return [
        web.post("/conversations/{id}/assign", conversation_assign),
        web.post("/conversations/{id}/transfer", conversation_transfer),
        web.post("/conversations/{id}/resolve", _status_handler(ConversationStatus.RESOLVED)),
        web.post("/conversations/{id}/reopen", _status_handler(ConversationStatus.OPEN)),
        web.post("/conversations/{id}/snooze", conversation_snooze),
    ]
