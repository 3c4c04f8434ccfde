"""REST resources under /api/v1: contacts, the customer 360, merge, conversations (the inbox: filters,
unread state, counts), interactions, tags."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from aiohttp import web

from crm_core.contacts import (
    Customer360,
    customer_360,
    get_contact,
    merge_contacts,
    record_payment_view,
    search_contacts,
    update_contact,
)
from crm_core.conversations import (
    NOBODY,
    Nobody,
    find_tag,
    get_conversation,
    list_conversations,
    list_interactions,
    list_tags,
)
from crm_core.errors import Conflict as CrmConflict
from crm_core.errors import ContactNotFound, MergeRefused, NotFoundError
from crm_core.models import ConversationStatus
from crm_core.reads import inbox_counts, mark_read
from hub.api.auth import Principal, require_role
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
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
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
    """The contact with identities, agreements, open cases, recent interactions, tags and figures.

    Payment fields go to supervisors and admins only, and every time they do the audit log says so.
    """
    principal = require_role(request, *ANY_ROLE)
    contact_id = path_id(request)
    recent = query_int(request, "recent", 50, low=1, high=500)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        view = await customer_360(conn, contact_id, recent=recent)
    if view is None:
        raise NotFound("no such contact")
    if principal.role not in PAYMENT_ROLES:
        return respond(_without_payments(view))
    if view.agreements:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            await record_payment_view(
                conn,
                view.contact.id,
                [agreement.id for agreement in view.agreements],
                actor=principal.actor,
                role=principal.role,
                now=utcnow(),
            )
    return respond(view)


async def contact_update(request: web.Request) -> web.Response:
    """Change a contact's ``display_name``, ``email``, ``phone`` or ``language`` (null clears); audited."""
    principal = require_role(request, *ANY_ROLE)
    contact_id = path_id(request)
    body = await json_body(request)
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            edit = await update_contact(conn, contact_id, body, actor=principal.actor, now=utcnow())
    except ValueError as err:
        raise BadRequest(str(err), code="invalid_field") from err
    except ContactNotFound as err:
        raise NotFound("no such contact") from err
    except CrmConflict as err:
        raise Conflict(str(err), code="contact_merged") from err
    request.config_dict[PIPELINE].notify_committed(edit.events)
    return respond({"contact": edit.contact, "changed": edit.changed})


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


def _agent_of(principal: Principal) -> uuid.UUID | None:
    return None if principal.agent_id is None else uuid.UUID(principal.agent_id)


def _invalid(name: str, problem: str) -> BadRequest:
    return BadRequest(f"query parameter {name} {problem}", code="invalid_parameter")


NEEDS_AGENT = "needs a caller who is an agent (a console session or an agent's token)"


def _id_or_none(request: web.Request, name: str, me: uuid.UUID | None) -> uuid.UUID | Nobody | None:
    """``name`` as an id, ``none`` (nobody set) or, for the assignee, ``me`` (the calling agent)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw == NOBODY.value:
        return NOBODY
    if raw == "me" and name == "assignee":
        if me is None:
            raise _invalid(name, f"me {NEEDS_AGENT}")
        return me
    try:
        return uuid.UUID(raw)
    except ValueError as err:
        choices = "an id, me or none" if name == "assignee" else "an id or none"
        raise _invalid(name, f"must be {choices}") from err


def _inbox_filters(request: web.Request, me: uuid.UUID | None) -> dict[str, Any]:
    """The keyword filters of list_conversations that this request's query asks for (all but the tag)."""
    assignee = _id_or_none(request, "assignee", me)
    legacy = query_uuid(request, "assignee_id")
    if assignee is not None and legacy is not None:
        raise _invalid("assignee", "cannot be combined with assignee_id")
    unread_only = query_choice(request, "unread", ("true", "false")) == "true"
    if unread_only and me is None:
        raise _invalid("unread", NEEDS_AGENT)
    return {
        "status": query_choice(request, "status", STATUSES),
        "contact_id": query_uuid(request, "contact_id"),
        "channel": request.query.get("channel"),
        "assignee_id": assignee if assignee is not None else legacy,
        "team_id": _id_or_none(request, "team", me),
        "unread_only": unread_only,
        "reader_id": me,
    }


async def conversations_index(request: web.Request) -> web.Response:
    """The inbox: conversations by latest activity, filtered by status, contact, channel, assignee (id,
    me, none), team (id, none), tag (name or id) and unread for the caller; keyset paging."""
    me = _agent_of(require_role(request, *ANY_ROLE))
    limit = query_int(request, "limit", 50, low=1, high=500)
    before, before_id = query_cursor(request)
    filters = _inbox_filters(request, me)
    tag = request.query.get("tag")
    async with request.config_dict[DATABASE].reader.connect() as conn:
        tag_id = None if tag is None else await find_tag(conn, tag)
        if tag is not None and tag_id is None:
            return respond({"items": [], "limit": limit, "next": None})
        # One row more than asked tells whether there is a next page.
        items = await list_conversations(
            conn, **filters, tag_id=tag_id, limit=limit + 1, before=before, before_id=before_id
        )
    more, items = len(items) > limit, items[:limit]
    after = next_page(request, items[-1].last_message_at, items[-1].id) if more else None
    return respond({"items": items, "limit": limit, "next": after})


async def conversation_counts(request: web.Request) -> web.Response:
    """The inbox header's figures: open, pending; of the open ones unread by the caller, mine, unassigned."""
    me = _agent_of(require_role(request, *ANY_ROLE))
    async with request.config_dict[DATABASE].reader.connect() as conn:
        counts = await inbox_counts(conn, me)
    return respond(counts)


async def conversation_read(request: web.Request) -> web.Response:
    """The calling agent opened the conversation: it is read until the customer writes again."""
    me = _agent_of(require_role(request, *ANY_ROLE))
    if me is None:
        raise Forbidden(f"reading a conversation {NEEDS_AGENT}", code="not_an_agent")
    conversation_id = path_id(request)
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            mark = await mark_read(conn, me, conversation_id, now=utcnow())
    except NotFoundError as err:
        raise NotFound("no such conversation") from err
    return respond(mark)


async def tags_index(request: web.Request) -> web.Response:
    """Every tag by name (the inbox's tag filter offers them)."""
    require_role(request, *ANY_ROLE)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await list_tags(conn)
    return respond({"items": items})


async def conversation_show(request: web.Request) -> web.Response:
    """One conversation with its contact's name, tags and whether the caller has read it."""
    me = _agent_of(require_role(request, *ANY_ROLE))
    async with request.config_dict[DATABASE].reader.connect() as conn:
        conversation = await get_conversation(conn, path_id(request), reader_id=me)
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
        web.patch("/contacts/{id}", contact_update),
        web.get("/contacts/{id}/360", contact_360),
        web.post("/contacts/{id}/merge", contact_merge),
        web.get("/conversations", conversations_index),
        # Before /conversations/{id}, which would take "counts" for an id.
        web.get("/conversations/counts", conversation_counts),
        web.get("/conversations/{id}", conversation_show),
        web.get("/conversations/{id}/interactions", conversation_interactions),
        web.post("/conversations/{id}/read", conversation_read),
        web.get("/tags", tags_index),
    ]
