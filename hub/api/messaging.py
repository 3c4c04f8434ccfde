"""REST for the messaging layer: replies and notes, the dead-letter list, kept-aside traffic, media.

A reply's files are uploaded first (``POST /api/v1/media``) and named by ``stored_id`` in its attachments;
the provider fetches each by a link that carries the file's random key (``PUBLIC_MEDIA_PATH``, served
without sign-in by :func:`public_media_routes`): Twilio, WhatsApp and the API channel's receiver take URLs.
"""

from __future__ import annotations

import mimetypes
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from sqlalchemy import select

from crm_core.db import table
from crm_core.errors import NotFoundError
from crm_core.kept_aside import kept_aside_body, list_kept_aside
from crm_core.media import Upload, get_upload, public_upload, store_upload
from crm_core.models_messaging import StoredMedia
from crm_core.outbox import ReplyDraft, list_dead, replay_dead
from hub.api.auth import require_role
from hub.api.params import body_id, json_body, optional_body_id, path_id, query_int, respond
from hub.errors import BadRequest, NotFound, SwitchboardError
from hub.keys import DATABASE, MEDIA, OUTBOX, SETTINGS
from hub.messages import utcnow

__all__ = ["PUBLIC_MEDIA_PATH", "messaging_routes", "public_media_routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")
OPERATORS = ("admin", "supervisor")
MAX_TEXT = 65_536
MAX_KEY = 200
MAX_ATTACHMENTS = 10
MAX_FILENAME = 300
UPLOAD_FIELD = "file"
PUBLIC_MEDIA_PATH = "/media/{id}/{key}"
"""Where providers fetch an uploaded file (mounted on the hub's root, outside the signed-in API)."""


class FileTooLarge(SwitchboardError):
    """An upload over SWITCHBOARD_MEDIA_MAX_BYTES."""

    status = 413
    code = "file_too_large"


class UnsupportedFileType(SwitchboardError):
    """An upload whose type SWITCHBOARD_MEDIA_TYPES does not allow."""

    status = 415
    code = "unsupported_media_type"


def _optional(body: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"{name} must be {what}", code="invalid_field")
    return value


def _attachments(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    what = "a list of {stored_id} (uploaded files) or {url, content_type, filename?}"
    items = _optional(body, "attachments", list, what) or []
    if len(items) > MAX_ATTACHMENTS:
        raise BadRequest(f"at most {MAX_ATTACHMENTS} attachments", code="invalid_field")
    out = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("stored_id") is not None:
            out.append({"stored_id": str(body_id(item["stored_id"], f"attachments[{index}].stored_id"))})
            continue
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise BadRequest(f"attachments[{index}] needs a stored_id or a url", code="invalid_field")
        out.append(
            {
                "url": item["url"],
                "content_type": str(item.get("content_type") or "application/octet-stream"),
                **({"filename": str(item["filename"])} if item.get("filename") else {}),
            }
        )
    return out


def _public_base(request: web.Request) -> str:
    """The URL providers reach this hub at: SWITCHBOARD_PUBLIC_URL, else the request's own origin."""
    configured = request.config_dict[SETTINGS].public_url
    return configured.rstrip("/") if configured else str(request.url.origin())


def _uploaded(upload: Upload, base: str) -> dict[str, Any]:
    link = PUBLIC_MEDIA_PATH.format(id=upload.id, key=upload.access_key)
    return {
        "url": f"{base}{link}",
        "content_type": upload.content_type,
        **({"filename": upload.filename} if upload.filename else {}),
        "size": upload.size,
        "stored_id": str(upload.id),
        "stored_url": f"/api/v1/media/{upload.id}",
    }


async def _with_uploads(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attachments with each uploaded file (``stored_id``) replaced by what a channel needs to send it."""
    if not any("stored_id" in item for item in items):
        return items
    base = _public_base(request)
    out = []
    async with request.config_dict[DATABASE].reader.connect() as conn:
        for index, item in enumerate(items):
            if "stored_id" not in item:
                out.append(item)
                continue
            upload = await get_upload(conn, uuid.UUID(item["stored_id"]))
            if upload is None:
                raise BadRequest(
                    f"attachments[{index}].stored_id names no uploaded file", code="invalid_field"
                )
            out.append(_uploaded(upload, base))
    return out


def _draft(
    request: web.Request, body: Mapping[str, Any], agent_id: str | None, attachments: list[dict[str, Any]]
) -> ReplyDraft:
    text = _optional(body, "text", str, "a string")
    template = _optional(body, "template", dict, "an object")
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


async def conversation_message(request: web.Request) -> web.Response:
    """Reply (queued for the outbox) or add a private note; answers 202 with the interaction."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    attachments = _attachments(body)
    draft = _draft(request, body, principal.agent_id, await _with_uploads(request, attachments))
    queued = await request.config_dict[OUTBOX].queue(
        path_id(request), draft, identity_id=optional_body_id(body, "identity_id")
    )
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


def _media_headers(content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        # Never rendered inline as a page of ours: a customer's HTML or SVG must not run in the console.
        "Content-Disposition": "attachment"
        if not content_type.startswith(("image/", "audio/", "video/"))
        else "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }


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
    return web.Response(body=row.content, headers=_media_headers(row.content_type))


def _filename(raw: str | None) -> str | None:
    """The last path segment of the sent file name, without control characters, at most 300 long."""
    if not raw:
        return None
    # Browsers escape '"' and line breaks as %22/%0A (WHATWG multipart/form-data); some clients escape all.
    name = PurePosixPath(unquote(raw).replace("\\", "/")).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[-MAX_FILENAME:] or None


def _content_type(part: BodyPartReader, filename: str | None) -> str:
    declared = part.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed = mimetypes.guess_type(filename or "")[0]
    return guessed or "application/octet-stream"


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(f"the file is larger than {limit} bytes (SWITCHBOARD_MEDIA_MAX_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


async def _file_part(request: web.Request) -> BodyPartReader:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest(f"send multipart/form-data with a {UPLOAD_FIELD!r} field", code="invalid_body")
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == UPLOAD_FIELD:
            return part
    raise BadRequest(f"no {UPLOAD_FIELD!r} field in the form", code="missing_field")


async def media_upload(request: web.Request) -> web.Response:
    """Keep a file to attach to a reply (multipart field ``file``), within the size and type limits."""
    principal = require_role(request, *ANY_ROLE)
    part = await _file_part(request)
    filename = _filename(part.filename)
    content_type = _content_type(part, filename)
    if not request.config_dict[MEDIA].allowed(content_type):
        raise UnsupportedFileType(f"{content_type} files are not accepted (SWITCHBOARD_MEDIA_TYPES)")
    content = await _read_limited(part, request.config_dict[SETTINGS].media_max_bytes)
    if not content:
        raise BadRequest("the file is empty", code="invalid_field")
    async with request.config_dict[DATABASE].writer.begin() as conn:
        upload = await store_upload(
            conn,
            content,
            content_type=content_type,
            filename=filename,
            uploaded_by=principal.actor,
            now=utcnow(),
        )
    return respond(
        {
            "id": upload.id,
            "url": f"/api/v1/media/{upload.id}",
            "content_type": upload.content_type,
            "filename": upload.filename,
            "size": upload.size,
        },
        status=201,
    )


async def media_public(request: web.Request) -> web.Response:
    """An uploaded file, for whoever holds its link (the provider sending it); never inbound media."""
    async with request.config_dict[DATABASE].reader.connect() as conn:
        found = await public_upload(conn, path_id(request), request.match_info["key"])
    if found is None:
        raise NotFound("no such media")
    return web.Response(body=found.content, headers=_media_headers(found.content_type))


def messaging_routes() -> list[web.RouteDef]:
    """The messaging layer's REST routes."""
    return [
        web.post("/conversations/{id}/messages", conversation_message),
        web.get("/outbox/dead", dead_letters),
        web.post("/outbox/{id}/replay", dead_letter_replay),
        web.get("/kept-aside", kept_aside_index),
        web.get("/kept-aside/{id}/body", kept_aside_raw),
        web.post("/media", media_upload),
        web.get("/media/{id}", media_show),
    ]


def public_media_routes() -> list[web.RouteDef]:
    """The route providers fetch uploaded files by; mounted on the hub's root app, without sign-in."""
    return [web.get(PUBLIC_MEDIA_PATH, media_public)]
