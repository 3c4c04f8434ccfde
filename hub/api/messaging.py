"""REST for the messaging layer: replies and notes, the dead-letter list, kept-aside traffic, media."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import select

from crm_core.db import table
from crm_core.errors import NotFoundError
from crm_core.kept_aside import kept_aside_body, list_kept_aside
from crm_core.models_messaging import StoredMedia
from crm_core.outbox import ReplyDraft, list_dead, replay_dead
from hub.api.auth import require_role
from hub.api.params import json_body, path_id, query_int, respond
from hub.errors import BadRequest, NotFound
from hub.keys import DATABASE, OUTBOX
from hub.messages import utcnow

__all__ = ["messaging_routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")
OPERATORS = ("admin", "supervisor")
MAX_TEXT = 65_536
MAX_KEY = 200


def _optional(body: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"{name} must be {what}", code="invalid_field")
    return value


def _attachments(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = _optional(body, "attachments", list, "a list of {url, content_type, filename?}") or []
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise BadRequest(f"attachments[{index}] needs a url", code="invalid_field")
        out.append(
            {
                "url": item["url"],
                "content_type": str(item.get("content_type") or "application/octet-stream"),
                **({"filename": str(item["filename"])} if item.get("filename") else {}),
            }
        )
    return out


def _draft(request: web.Request, body: Mapping[str, Any], agent_id: str | None) -> ReplyDraft:
    text = _optional(body, "text", str, "a string")
    template = _optional(body, "template", dict, "an object")
    attachments = _attachments(body)
    private = bool(_optional(body, "private", bool, "true or false"))
    if not (text and text.strip()) and template is None and not attachments:
        raise BadRequest("text is required (or a template, or attachments)", code="missing_field")
    if text is not None and len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters", code="invalid_field")
    if private and (template is not None or attachments):
        raise BadRequest("a private note is text only", code="invalid_field")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY} characters", code="invalid_header")
    return ReplyDraft(
        text=text,
        private=private,
        attachments=attachments,
        template=template,
        idempotency_key=key,
        author_agent_id=uuid.UUID(agent_id) if agent_id else None,
    )


def _identity_id(body: Mapping[str, Any]) -> uuid.UUID | None:
    raw = _optional(body, "identity_id", str, "a string")
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as err:
        raise BadRequest("identity_id is not a valid id", code="invalid_field") from err


async def conversation_message(request: web.Request) -> web.Response:
    """Reply (queued for the outbox) or add a private note; answers 202 with the interaction."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    draft = _draft(request, body, principal.agent_id)
    queued = await request.config_dict[OUTBOX].queue(path_id(request), draft, identity_id=_identity_id(body))
    return respond(
        {
            "interaction_id": queued.interaction_id,
            "conversation_id": queued.conversation_id,
            "status": None if draft.private else "queued",
            "private": draft.private,
            "duplicate": queued.duplicate,
        },
        status=202,
    )


async def dead_letters(request: web.Request) -> web.Response:
    """Replies that failed for good, newest first."""
    require_role(request, *OPERATORS)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await list_dead(conn, limit=limit)
    return respond({"items": items, "limit": limit})


async def dead_letter_replay(request: web.Request) -> web.Response:
    """Queue a dead reply again (audited)."""
    principal = require_role(request, "admin")
    try:
        async with request.config_dict[DATABASE].writer.begin() as conn:
            interaction_id = await replay_dead(conn, path_id(request), actor=principal.actor, now=utcnow())
    except NotFoundError as err:
        raise NotFound(str(err)) from err
    request.config_dict[OUTBOX].wake()
    return respond({"interaction_id": interaction_id, "status": "queued"}, status=202)


async def kept_aside_index(request: web.Request) -> web.Response:
    """Provider traffic that could not be stored as messages, with the reasons."""
    require_role(request, *OPERATORS)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        items = await list_kept_aside(conn, channel=request.query.get("channel"), limit=limit)
    return respond({"items": items, "limit": limit})


async def kept_aside_raw(request: web.Request) -> web.Response:
    """The raw body of one kept-aside request, as the provider sent it."""
    require_role(request, *OPERATORS)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        found = await kept_aside_body(conn, path_id(request))
    if found is None:
        raise NotFound("no such kept-aside item")
    body, content_type = found
    return web.Response(body=body, headers={"Content-Type": content_type})


async def media_show(request: web.Request) -> web.Response:
    """A stored attachment, for signed-in users only."""
    require_role(request, *ANY_ROLE)
    tbl = table(StoredMedia)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        row = (
            await conn.execute(
                select(tbl.c.content, tbl.c.content_type, tbl.c.filename).where(tbl.c.id == path_id(request))
            )
        ).first()
    if row is None or row.content is None:
        raise NotFound("no such media")
    headers = {
        "Content-Type": row.content_type,
        # Never rendered inline as a page of ours: a customer's HTML or SVG must not run in the console.
        "Content-Disposition": "attachment"
        if not row.content_type.startswith(("image/", "audio/", "video/"))
        else "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    return web.Response(body=row.content, headers=headers)


def messaging_routes() -> list[web.RouteDef]:
    """The messaging layer's REST routes."""
    return [
        web.post("/conversations/{id}/messages", conversation_message),
        web.get("/outbox/dead", dead_letters),
        web.post("/outbox/{id}/replay", dead_letter_replay),
        web.get("/kept-aside", kept_aside_index),
        web.get("/kept-aside/{id}/body", kept_aside_raw),
        web.get("/media/{id}", media_show),
    ]
