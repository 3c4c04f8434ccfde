"""Portable JSON aggregation (SQLite and PostgreSQL) and parsing of the plain values it returns."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, func, literal_column
from sqlalchemy.orm import QueryableAttribute

__all__ = [
    "Expr",
    "as_bool",
    "as_date",
    "as_datetime",
    "as_optional_datetime",
    "as_optional_uuid",
    "as_uuid",
    "json_array_of",
    "json_nested",
    "json_object_of",
    "plain",
    "plain_fields",
]

# A column of a mapped class (``Case.title``) or any SQL expression.
Expr = ColumnElement[Any] | QueryableAttribute[Any]

_KEY = re.compile(r"[a-z_][a-z0-9_]*")


def _key(name: str) -> ColumnElement[Any]:
    # A literal, not a bound parameter: asyncpg cannot infer a parameter's type inside the
    # variadic json_build_object(VARIADIC "any"). Keys are constants of our code, checked here.
    if not _KEY.fullmatch(name):
        raise ValueError(f"not a JSON key we write: {name!r}")
    return literal_column(f"'{name}'")


def json_object_of(dialect: str, fields: Mapping[str, Expr]) -> ColumnElement[Any]:
    """A JSON object built from ``fields`` (key to SQL expression)."""
    args: list[Expr] = []
    for name, value in fields.items():
        args += [_key(name), value]
    if dialect == "sqlite":
        return func.json_object(*args, type_=JSON)
    return func.json_build_object(*args, type_=JSON)


def json_array_of(dialect: str, element: Expr) -> ColumnElement[Any]:
    """The aggregate that gathers ``element`` of every row into a JSON array (``[]`` for no rows)."""
    if dialect == "sqlite":
        return func.json_group_array(element, type_=JSON)
    # json_agg over no rows is NULL, not an empty array.
    return func.coalesce(func.json_agg(element), func.json_build_array(), type_=JSON)


def json_nested(dialect: str, value: Expr) -> Expr:
    """``value`` (JSON text) embedded as JSON, not as a quoted string, inside another JSON value."""
    # SQLite passes JSON between functions as text with a subtype that is lost at column and
    # subquery boundaries; json() restores it. PostgreSQL's json/jsonb types embed as they are.
    if dialect == "sqlite":
        return func.json(value, type_=JSON)
    return value


def as_uuid(value: Any) -> uuid.UUID:
    """A plain ``uuid.UUID`` from SQLite's 32-digit hex, PostgreSQL's dashed form or a driver's UUID."""
    if type(value) is uuid.UUID:
        return value
    # asyncpg hands out its own UUID subclass, which serializers such as orjson refuse.
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=value.int)
    return uuid.UUID(str(value))


def plain(value: Any) -> Any:
    """``value`` with a driver's UUID subclass replaced by a plain ``uuid.UUID``; others unchanged."""
    return as_uuid(value) if isinstance(value, uuid.UUID) else value


def plain_fields(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a result row, as plain values (see :func:`plain`)."""
    return {name: plain(getattr(row, name)) for name in names}


def as_optional_uuid(value: Any) -> uuid.UUID | None:
    """Like :func:`as_uuid`, keeping ``None``."""
    return None if value is None else as_uuid(value)


def as_datetime(value: Any) -> datetime:
    """An aware UTC datetime from SQLite's naive UTC text or PostgreSQL's ISO text with offset."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_optional_datetime(value: Any) -> datetime | None:
    """Like :func:`as_datetime`, keeping ``None``."""
    return None if value is None else as_datetime(value)


def as_date(value: Any) -> date:
    """A date from ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def as_bool(value: Any) -> bool:
    """A boolean from SQLite's 0/1 or PostgreSQL's true/false."""
    return bool(value)
