"""REST resources under /api/v1: contacts, the customer 360, merge, conversations, interactions."""

from __future__ import annotations

import uuid

from aiohttp import web
from crm_core.contacts import customer_360, get_contact, merge_contacts, search_contacts
from crm_core.conversations import get_conversation, list_conversations, list_interactions

from crm_core.errors import ContactNotFound, MergeRefused
from hub.api.auth import require_role
from hub.api.params import json_body, path_id, query_datetime, query_int, query_uuid, respond
from hub.errors import BadRequest, Conflict, NotFound
from hub.keys import DATABASE, PIPELINE
from hub.messages import utcnow

__all__ = ["routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")


async def contacts_index(request: web.Request) -> web.Response:
    """Contacts, newest first; ``q`` matches names, email, phone and any channel identity."""
    require_role(request, *ANY_ROLE)
    limit = query_int(request, "limit", 50, low=1, high=500)
    offset = query_int(request, "offset", 0, low=0, high=1_000_000)
    async with request.app[DATABASE].reader.connect() as conn:
        items = await search_contacts(conn, request.query.get("q") or None, limit=limit, offset=offset)
    return respond({"items": items, "limit": limit, "offset": offset})


async def contact_show(request: web.Request) -> web.Response:
    require_role(request, *ANY_ROLE)
    async with request.app[DATABASE].reader.connect() as conn:
        contact = await get_contact(conn, path_id(request))
    if contact is None:
        raise NotFound("no such contact")
    return respond(contact)


async def contact_360(request: web.Request) -> web.Response:
    """The contact with identities, agreements, open cases, recent interactions, tags and figures."""
    require_role(request, *ANY_ROLE)
    recent = query_int(request, "recent", 50, low=1, high=500)
    async with request.app[DATABASE].reader.connect() as conn:
        view = await customer_360(conn, path_id(request), recent=recent)
    if view is None:
        raise NotFound("no such contact")
    return respond(view)


async def contact_merge(request: web.Request) -> web.Response:
    """Merge another contact into this one; every identity and interaction moves, audit records it."""
    principal = require_role(request, *ANY_ROLE)
    survivor_id = path_id(request)
    body = await json_body(request)
    raw = body.get("merge_id")
    if not isinstance(raw, str):
        raise BadRequest("merge_id (the contact to merge into this one) is required", code="missing_field")
    try:
        merged_id = uuid.UUID(raw)
    except ValueError as err:
        raise NotFound("no such contact") from err
    # Merges go through the writer engine: on SQLite it is the one connection allowed to write.
    try:
        async with request.app[DATABASE].writer.begin() as conn:
            outcome = await merge_contacts(conn, survivor_id, merged_id, actor=principal.actor, now=utcnow())
    except ContactNotFound as err:
        raise NotFound(str(err)) from err
    except MergeRefused as err:
        raise Conflict(str(err), code="merge_refused") from err
    request.app[PIPELINE].notify_committed(outcome.events)
    return respond(outcome)


async def conversations_index(request: web.Request) -> web.Response:
    """Conversations by latest activity; filter by status, contact, channel, assignee; page with before."""
    require_role(request, *ANY_ROLE)
    limit = query_int(request, "limit", 50, low=1, high=500)
    async with request.app[DATABASE].reader.connect() as conn:
        items = await list_conversations(
            conn,
            status=request.query.get("status"),
            contact_id=query_uuid(request, "contact_id"),
            channel=request.query.get("channel"),
            assignee_id=query_uuid(request, "assignee_id"),
            limit=limit,
            before=query_datetime(request, "before"),
        )
    return respond({"items": items, "limit": limit})


async def conversation_show(request: web.Request) -> web.Response:
    require_role(request, *ANY_ROLE)
    async with request.app[DATABASE].reader.connect() as conn:
        conversation = await get_conversation(conn, path_id(request))
    if conversation is None:
        raise NotFound("no such conversation")
    return respond(conversation)


async def conversation_interactions(request: web.Request) -> web.Response:
    """A page of a conversation's interactions, oldest to newest."""
    require_role(request, *ANY_ROLE)
    conversation_id = path_id(request)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    async with request.app[DATABASE].reader.connect() as conn:
        if await get_conversation(conn, conversation_id) is None:
            raise NotFound("no such conversation")
        items = await list_interactions(
            conn, conversation_id, limit=limit, before=query_datetime(request, "before")
        )
    return respond({"items": items, "limit": limit})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/contacts", contacts_index),
        web.get("/contacts/{id}", contact_show),
        web.get("/contacts/{id}/360", contact_360),
        web.post("/contacts/{id}/merge", contact_merge),
        web.get("/conversations", conversations_index),
        web.get("/conversations/{id}", conversation_show),
        web.get("/conversations/{id}/interactions", conversation_interactions),
    ]
