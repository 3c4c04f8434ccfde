"""Reading path and query parameters, with 400s that name the bad one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from hub.errors import BadRequest, NotFound

__all__ = ["json_body", "path_id", "query_datetime", "query_int", "respond"]


def path_id(request: web.Request, name: str = "id") -> uuid.UUID:
    """A UUID from the path; an id that cannot exist is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError as err:
        raise NotFound(f"no such {name}") from err


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise BadRequest(f"query parameter {name} must be an integer", code="invalid_parameter") from err
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name} must be between {low} and {high}", code="invalid_parameter")
    return value


def query_datetime(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as err:
        raise BadRequest(f"query parameter {name} must be ISO 8601", code="invalid_parameter") from err
    if value.tzinfo is None:
        raise BadRequest(f"query parameter {name} needs a time zone offset", code="invalid_parameter")
    return value


def query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as err:
        raise BadRequest(f"query parameter {name} must be an id", code="invalid_parameter") from err


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"body is not valid JSON: {err}", code="malformed_json") from err
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", code="malformed_json")
    return data


def _fallback(value: Any) -> Any:
    # asyncpg returns its own UUID subclass, which orjson does not take for a uuid.UUID.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def respond(data: Any, status: int = 200) -> web.Response:
    """JSON with ids and datetimes as strings (dataclasses serialize field by field)."""
    body = orjson.dumps(data, default=_fallback)
    return web.Response(body=body, status=status, content_type="application/json")
