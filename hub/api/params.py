"""Reading path and query parameters, with 400s that name the bad one; JSON answers and page cursors."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import web

from hub.errors import BadRequest, NotFound

__all__ = [
    "body_id",
    "json_body",
    "next_page",
    "optional_body_id",
    "path_id",
    "query_choice",
    "query_cursor",
    "query_datetime",
    "query_int",
    "query_uuid",
    "respond",
]


def _invalid(name: str, problem: str) -> BadRequest:
    return BadRequest(f"query parameter {name} {problem}", code="invalid_parameter")


def path_id(request: web.Request, name: str = "id") -> uuid.UUID:
    """A UUID from the path; an id that cannot exist is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError as err:
        raise NotFound(f"no such {name}") from err


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within ``low..high``; ``default`` when absent."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise _invalid(name, "must be an integer") from err
    if not low <= value <= high:
        raise _invalid(name, f"must be between {low} and {high}")
    return value


def query_datetime(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 instant with offset (``+`` sent as ``%2B``); None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as err:
        # An unencoded "+00:00" arrives as " 00:00": say so, it is the usual mistake.
        raise _invalid(name, "must be ISO 8601 with an offset (send + as %2B)") from err
    if value.tzinfo is None:
        raise _invalid(name, "needs a time zone offset")
    return value


def body_id(value: Any, name: str) -> uuid.UUID:
    """An id given in a JSON body (a string); BadRequest naming ``name`` otherwise."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise BadRequest(f"{name} must be an id (a string)", code="invalid_field")


def optional_body_id(body: Mapping[str, Any], name: str) -> uuid.UUID | None:
    """The id under ``name`` in a JSON body; None when absent or null."""
    value = body.get(name)
    return None if value is None else body_id(value, name)


def query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    """An id query parameter; None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as err:
        raise _invalid(name, "must be an id") from err


def query_choice(request: web.Request, name: str, choices: Collection[str]) -> str | None:
    """A query parameter that must be one of ``choices``; None when absent."""
    raw = request.query.get(name)
    if raw is not None and raw not in choices:
        raise _invalid(name, f"must be one of {', '.join(sorted(choices))}")
    return raw


def query_cursor(request: web.Request) -> tuple[datetime | None, uuid.UUID | None]:
    """The keyset cursor ``before`` (instant) and ``before_id`` (tie-breaker; needs ``before``)."""
    before, before_id = query_datetime(request, "before"), query_uuid(request, "before_id")
    if before_id is not None and before is None:
        raise _invalid("before_id", "needs before (the instant of the row it names)")
    return before, before_id


def next_page(request: web.Request, at: datetime, row_id: uuid.UUID) -> str:
    """This request's query string with the cursor moved past the row at (``at``, ``row_id``)."""
    query = [(k, v) for k, v in request.query.items() if k not in ("before", "before_id")]
    query += [("before", at.isoformat()), ("before_id", str(row_id))]
    # quote, not quote_plus: "+" in an offset must travel as %2B.
    return urlencode(query, quote_via=quote)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest."""
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
