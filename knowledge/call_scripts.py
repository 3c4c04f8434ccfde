"""The call-script store: one script per case type and language, updated in place by slug, with history."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .articles import Change
from .drafts import ScriptDraft, ScriptStep, Status, check_status, steps_from_json, steps_to_json

__all__ = [
    "FALLBACK_LANGUAGE",
    "Script",
    "ScriptChange",
    "ScriptVersion",
    "get_script",
    "list_scripts",
    "script_for",
    "script_versions",
    "upsert_script",
]

FALLBACK_LANGUAGE = "en"
_S = schema.scripts
_V = schema.script_versions


@dataclass(frozen=True, slots=True)
class Script:
    """A stored call script at its current version."""

    id: uuid.UUID
    slug: str
    case_type: str
    language: str
    title: str
    steps: tuple[ScriptStep, ...]
    notes: str
    status: Status
    translation_of: str | None
    version: int
    updated_at: datetime

    def draft(self) -> ScriptDraft:
        """The script's content as a draft (what an edit or a re-import compares against)."""
        return ScriptDraft(
            slug=self.slug,
            case_type=self.case_type,
            language=self.language,
            title=self.title,
            steps=self.steps,
            notes=self.notes,
            status=self.status,
            translation_of=self.translation_of,
        )


@dataclass(frozen=True, slots=True)
class ScriptChange:
    """What an upsert did."""

    script: Script
    change: Change
    previous: Script | None = None


@dataclass(frozen=True, slots=True)
class ScriptVersion:
    """One version of a script as it was saved, by whom and when."""

    script_id: uuid.UUID
    version: int
    draft: ScriptDraft
    editor: str | None
    edited_at: datetime


def _content(draft: ScriptDraft) -> dict[str, Any]:
    return {
        "case_type": draft.case_type,
        "language": draft.language,
        "title": draft.title,
        "steps": steps_to_json(draft.steps),
        "notes": draft.notes,
        "status": draft.status,
        "translation_of": draft.translation_of,
    }


def _draft(row: Mapping[Any, Any]) -> ScriptDraft:
    return ScriptDraft(
        slug=row["slug"],
        case_type=row["case_type"],
        language=row["language"],
        title=row["title"],
        steps=steps_from_json(row["steps"]),
        notes=row["notes"],
        status=check_status(row["status"]),
        translation_of=row["translation_of"],
    )


def _script(row: Mapping[Any, Any]) -> Script:
    draft = _draft(row)
    return Script(
        id=row["id"],
        slug=draft.slug,
        case_type=draft.case_type,
        language=draft.language,
        title=draft.title,
        steps=draft.steps,
        notes=draft.notes,
        status=draft.status,
        translation_of=draft.translation_of,
        version=row["version"],
        updated_at=row["updated_at"],
    )


async def _add_version(
    conn: AsyncConnection,
    script_id: uuid.UUID,
    version: int,
    draft: ScriptDraft,
    editor: str | None,
    now: datetime,
) -> None:
    values = {"script_id": script_id, "version": version, "editor": editor, "edited_at": now}
    await conn.execute(_V.insert().values(id=schema.new_id(), **values, **_content(draft)))


async def upsert_script(
    conn: AsyncConnection, draft: ScriptDraft, *, editor: str | None, now: datetime
) -> ScriptChange:
    """Insert ``draft``, or update the script with its slug in place (version + 1) when it differs."""
    found = (
        (await conn.execute(select(_S).where(_S.c.slug == draft.slug).with_for_update())).mappings().first()
    )
    if found is None:
        script_id = schema.new_id()
        values = {"id": script_id, "slug": draft.slug, "version": 1, "updated_at": now}
        await conn.execute(_S.insert().values(**values, **_content(draft)))
        await _add_version(conn, script_id, 1, draft, editor, now)
        return ScriptChange(_script({**values, **_content(draft)}), "created")
    current = _script(found)
    if current.draft() == draft:
        return ScriptChange(current, "unchanged", previous=current)
    version = current.version + 1
    await conn.execute(
        _S.update().where(_S.c.id == current.id).values(version=version, updated_at=now, **_content(draft))
    )
    await _add_version(conn, current.id, version, draft, editor, now)
    values = {"id": current.id, "slug": current.slug, "version": version, "updated_at": now}
    return ScriptChange(_script({**values, **_content(draft)}), "updated", previous=current)


def _by_slug_or_id(slug_or_id: str | uuid.UUID) -> ColumnElement[bool]:
    if isinstance(slug_or_id, uuid.UUID):
        return _S.c.id == slug_or_id
    try:
        return _S.c.id == uuid.UUID(slug_or_id)
    except ValueError:
        return _S.c.slug == slug_or_id


async def get_script(conn: AsyncConnection, slug_or_id: str | uuid.UUID) -> Script | None:
    """The script with this id (a UUID or its string) or slug, or None."""
    found = (await conn.execute(select(_S).where(_by_slug_or_id(slug_or_id)))).mappings().first()
    return None if found is None else _script(found)


async def list_scripts(
    conn: AsyncConnection,
    *,
    case_type: str | None = None,
    language: str | None = None,
    status: Status | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Script]:
    """Scripts by slug, filtered by case type, language and status."""
    statement = select(_S).order_by(_S.c.slug).limit(limit).offset(offset)
    if case_type is not None:
        statement = statement.where(_S.c.case_type == case_type)
    if language is not None:
        statement = statement.where(_S.c.language == language)
    if status is not None:
        statement = statement.where(_S.c.status == check_status(status))
    return [_script(row) for row in (await conn.execute(statement)).mappings()]


async def script_for(
    conn: AsyncConnection, case_type: str, language: str, *, fallback: str = FALLBACK_LANGUAGE
) -> Script | None:
    """The published script for ``case_type`` in ``language``, else in ``fallback``, else None."""
    preference = case((_S.c.language == language, 0), else_=1)
    statement = (
        select(_S)
        .where(
            _S.c.case_type == case_type, _S.c.status == "published", _S.c.language.in_([language, fallback])
        )
        .order_by(preference, _S.c.slug)
        .limit(1)
    )
    found = (await conn.execute(statement)).mappings().first()
    return None if found is None else _script(found)


async def script_versions(conn: AsyncConnection, script_id: uuid.UUID) -> list[ScriptVersion]:
    """Every saved version of a script, oldest first."""
    statement = (
        select(_V, _S.c.slug)
        .join(_S, _S.c.id == _V.c.script_id)
        .where(_V.c.script_id == script_id)
        .order_by(_V.c.version)
    )
    return [
        ScriptVersion(row["script_id"], row["version"], _draft(row), row["editor"], row["edited_at"])
        for row in (await conn.execute(statement)).mappings()
    ]
