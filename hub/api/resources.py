"""REST resources under /api/v1: contacts, the customer 360, merge, conversations, interactions."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from aiohttp import web

from crm_core.contacts import Customer360, customer_360, get_contact, merge_contacts, search_contacts
from crm_core.conversations import get_conversation, list_conversations, list_interactions
from crm_core.errors import ContactNotFound, MergeRefused
from crm_core.models import ConversationStatus
from hub.api.auth import require_role
from hub.api.params import (
    json_body,
    next_page,
    path_id,
    query_choice,
    query_cursor,
    query_int,
    query_uuid,
    respond,
)
from hub.errors import BadRequest, Conflict, NotFound
from hub.keys import DATABASE, PIPELINE
from hub.messages import utcnow

__all__ = ["routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")
# crm_core.models.Role: payment data is for supervisors and admins only.
PAYMENT_ROLES = frozenset({"supervisor", "admin"})
PAYMENT_FIELDS = ("payment_plan", "payment_status")
STATUSES = frozenset(status.value for status in ConversationStatus)


async def contacts_index(request: web.Request) -> web.Response:
    """Contacts, newest first; ``q`` matches names, email, phone and any channel identity."""
    require_role(request, *ANY_ROLE)
    limit = query_int(request, "limit", 50, low=1, high=500)
    offset = query_int(request, "offset", 0, low=0, high=1_000_000)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await search_contacts(conn, request.query.get("q") or None, limit=limit, offset=offset)
    return respond({"items": items, "limit": limit, "offset": offset})


async def contact_show(request: web.Request) -> web.Response:
    """One contact's own fields (a merged-away contact too, with ``merged_into_id``)."""
    require_role(request, *ANY_ROLE)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        contact = await get_contact(conn, path_id(request))
    if contact is None:
        raise NotFound("no such contact")
    return respond(contact)


def _without_payments(view: Customer360) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    for agreement in data["agreements"]:
        for name in PAYMENT_FIELDS:
            del agreement[name]
    return data


async def contact_360(request: web.Request) -> web.Response:
    """The contact with identities, agreements, open cases, recent interactions, tags and figures."""
    principal = require_role(request, *ANY_ROLE)
    contact_id = path_id(request)
    recent = query_int(request, "recent", 50, low=1, high=500)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        view = await customer_360(conn, contact_id, recent=recent)
    if view is None:
        raise NotFound("no such contact")
    return respond(view if principal.role in PAYMENT_ROLES else _without_payments(view))


def _merge_id(body: dict[str, Any]) -> uuid.UUID:
    raw = body.get("merge_id")
    if raw is None:
        raise BadRequest("merge_id (the contact to merge into this one) is required", code="missing_field")
    if not isinstance(raw, str):
        raise BadRequest("merge_id must be a contact id (a string)", code="invalid_field")
    try:
        return uuid.UUID(raw)
    except ValueError as err:
        raise NotFound("no such contact") from err


async def contact_merge(request: web.Request) -> web.Response:
    """Merge another contact into this one; every identity and interaction moves, audit records it."""
    principal = require_role(request, *ANY_ROLE)
    survivor_id = path_id(request)
    merged_id = _merge_id(await json_body(request))
    # Merges go through the writer engine: on SQLite it is the one connection allowed to write.
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            outcome = await merge_contacts(conn, survivor_id, merged_id, actor=principal.actor, now=utcnow())
    except ContactNotFound as err:
        raise NotFound(str(err)) from err
    except MergeRefused as err:
        raise Conflict(str(err), code="merge_refused") from err
    request.config_dict[PIPELINE].notify_committed(outcome.events)
    return respond(outcome)


async def conversations_index(request: web.Request) -> web.Response:
    """Conversations by latest activity; filter by status, contact, channel, assignee; keyset paging."""
    require_role(request, *ANY_ROLE)
    limit = query_int(request, "limit", 50, low=1, high=500)
    before, before_id = query_cursor(request)
    status = query_choice(request, "status", STATUSES)
    contact_id, assignee_id = query_uuid(request, "contact_id"), query_uuid(request, "assignee_id")
    async with request.config_dict[DATABASE].reader.connect() as conn:
        # One row more than asked tells whether there is a next page.
        items = await list_conversations(
            conn,
            status=status,
            contact_id=contact_id,
            channel=request.query.get("channel"),
            assignee_id=assignee_id,
            limit=limit + 1,
            before=before,
            before_id=before_id,
        )
    more, items = len(items) > limit, items[:limit]
    after = next_page(request, items[-1].last_message_at, items[-1].id) if more else None
    return respond({"items": items, "limit": limit, "next": after})


async def conversation_show(request: web.Request) -> web.Response:
    """One conversation with its contact's name."""
    require_role(request, *ANY_ROLE)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        conversation = await get_conversation(conn, path_id(request))
    if conversation is None:
        raise NotFound("no such conversation")
    return respond(conversation)


async def conversation_interactions(request: web.Request) -> web.Response:
    """The newest page of a conversation's interactions before the cursor, oldest to newest."""
    require_role(request, *ANY_ROLE)
    conversation_id = path_id(request)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    before, before_id = query_cursor(request)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        if await get_conversation(conn, conversation_id) is None:
            raise NotFound("no such conversation")
        items = await list_interactions(
            conn, conversation_id, limit=limit + 1, before=before, before_id=before_id
        )
    # Oldest first: the extra row, if any, is the first; the next (older) page starts at the new first.
    more, items = len(items) > limit, items[-limit:]
    after = next_page(request, items[0].occurred_at, items[0].id) if more else None
    return respond({"items": items, "limit": limit, "next": after})


def routes() -> list[web.RouteDef]:
    """Every REST route of /api/v1 but the OpenAPI file."""
    return [
        web.get("/contacts", contacts_index),
        web.get("/contacts/{id}", contact_show),
        web.get("/contacts/{id}/360", contact_360),
        web.post("/contacts/{id}/merge", contact_merge),
        web.get("/conversations", conversations_index),
        web.get("/conversations/{id}", conversation_show),
        web.get("/conversations/{id}/interactions", conversation_interactions),
    ]
