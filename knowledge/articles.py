"""The article store: insert or update in place by slug, a version row per change, listing and history.

Every function takes the caller's ``AsyncConnection`` (its transaction) and returns frozen dataclasses.
An article's passages and their index entries are kept by ``knowledge.indexing``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from . import fulltext, schema
from .drafts import ArticleDraft, Status, check_status

__all__ = [
    "Article",
    "ArticleChange",
    "ArticleVersion",
    "Change",
    "article_versions",
    "delete_article",
    "get_article",
    "list_articles",
    "set_article_status",
    "upsert_article",
]

Change = Literal["created", "updated", "unchanged"]
_A = schema.articles
_V = schema.article_versions


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article at its current version."""

    id: uuid.UUID
    slug: str
    language: str
    title: str
    body: str
    short: str
    tags: tuple[str, ...]
    case_types: tuple[str, ...]
    status: Status
    translation_of: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    def draft(self) -> ArticleDraft:
        """The article's content as a draft (what an edit or a re-import compares against)."""
        return ArticleDraft(
            slug=self.slug,
            language=self.language,
            title=self.title,
            body=self.body,
            short=self.short,
            tags=self.tags,
            case_types=self.case_types,
            status=self.status,
            translation_of=self.translation_of,
        )


@dataclass(frozen=True, slots=True)
class ArticleVersion:
    """One version of an article as it was saved, by whom and when."""

    article_id: uuid.UUID
    version: int
    draft: ArticleDraft
    editor: str | None
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class ArticleChange:
    """What an upsert did. ``passages_changed``: the text changed, so its passages must be re-embedded."""

    article: Article
    change: Change
    passages_changed: bool
    previous: Article | None = None

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return self.change != "unchanged"


def _content(draft: ArticleDraft) -> dict[str, Any]:
    return {
        "language": draft.language,
        "title": draft.title,
        "body": draft.body,
        "short": draft.short,
        "tags": list(draft.tags),
        "case_types": list(draft.case_types),
        "status": draft.status,
        "translation_of": draft.translation_of,
    }


def _article(row: Mapping[Any, Any]) -> Article:
    return Article(
        id=row["id"],
        slug=row["slug"],
        language=row["language"],
        title=row["title"],
        body=row["body"],
        short=row["short"],
        tags=tuple(row["tags"]),
        case_types=tuple(row["case_types"]),
        status=check_status(row["status"]),
        translation_of=row["translation_of"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _passage_text(draft: ArticleDraft) -> tuple[str, str, str]:
    return draft.title, draft.body, draft.short


async def _add_version(
    conn: AsyncConnection,
    article_id: uuid.UUID,
    version: int,
    draft: ArticleDraft,
    editor: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        _V.insert().values(
            id=schema.new_id(),
            article_id=article_id,
            version=version,
            editor=editor,
            edited_at=now,
            **_content(draft),
        )
    )


async def upsert_article(
    conn: AsyncConnection, draft: ArticleDraft, *, editor: str | None, now: datetime
) -> ArticleChange:
    """Insert ``draft``, or update the article with its slug in place (version + 1) when it differs."""
    # FOR UPDATE serialises two editors of one article on PostgreSQL; SQLite has one writer anyway.
    found = (
        (await conn.execute(select(_A).where(_A.c.slug == draft.slug).with_for_update())).mappings().first()
    )
    if found is None:
        article_id = schema.new_id()
        values = {"id": article_id, "slug": draft.slug, "version": 1, "created_at": now, "updated_at": now}
        await conn.execute(_A.insert().values(**values, **_content(draft)))
        await _add_version(conn, article_id, 1, draft, editor, now)
        return ArticleChange(_article({**values, **_content(draft)}), "created", passages_changed=True)
    current = _article(found)
    if current.draft() == draft:
        return ArticleChange(current, "unchanged", passages_changed=False, previous=current)
    version = current.version + 1
    await conn.execute(
        _A.update().where(_A.c.id == current.id).values(version=version, updated_at=now, **_content(draft))
    )
    await _add_version(conn, current.id, version, draft, editor, now)
    updated = _article(
        {"id": current.id, "slug": current.slug, "version": version, "created_at": current.created_at}
        | {"updated_at": now, **_content(draft)}
    )
    return ArticleChange(
        updated,
        "updated",
        passages_changed=_passage_text(current.draft()) != _passage_text(draft),
        previous=current,
    )


def _by_slug_or_id(slug_or_id: str | uuid.UUID) -> ColumnElement[bool]:
    if isinstance(slug_or_id, uuid.UUID):
        return _A.c.id == slug_or_id
    try:
        return _A.c.id == uuid.UUID(slug_or_id)
    except ValueError:
        return _A.c.slug == slug_or_id


async def get_article(conn: AsyncConnection, slug_or_id: str | uuid.UUID) -> Article | None:
    """The article with this id (a UUID or its string) or slug, or None."""
    found = (await conn.execute(select(_A).where(_by_slug_or_id(slug_or_id)))).mappings().first()
    return None if found is None else _article(found)


def json_list_contains(dialect: str, column: Any, value: str) -> ColumnElement[bool]:
    """``value`` is an element of the JSON array in ``column`` (SQLite's json_each, PostgreSQL's @>)."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == value).exists()


async def list_articles(
    conn: AsyncConnection,
    *,
    language: str | None = None,
    status: Status | None = None,
    tag: str | None = None,
    case_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Article]:
    """Articles by slug, filtered by language, status, a tag and a case type."""
    statement = select(_A).order_by(_A.c.slug).limit(limit).offset(offset)
    if language is not None:
        statement = statement.where(_A.c.language == language)
    if status is not None:
        statement = statement.where(_A.c.status == check_status(status))
    if tag is not None:
        statement = statement.where(json_list_contains(conn.dialect.name, _A.c.tags, tag))
    if case_type is not None:
        statement = statement.where(json_list_contains(conn.dialect.name, _A.c.case_types, case_type))
    return [_article(row) for row in (await conn.execute(statement)).mappings()]


async def article_versions(conn: AsyncConnection, article_id: uuid.UUID) -> list[ArticleVersion]:
    """Every saved version of an article, oldest first."""
    statement = (
        select(_V, _A.c.slug)
        .join(_A, _A.c.id == _V.c.article_id)
        .where(_V.c.article_id == article_id)
        .order_by(_V.c.version)
    )
    return [
        ArticleVersion(
            article_id=row["article_id"],
            version=row["version"],
            draft=_draft(row),
            editor=row["editor"],
            edited_at=row["edited_at"],
        )
        for row in (await conn.execute(statement)).mappings()
    ]


def _draft(row: Mapping[Any, Any]) -> ArticleDraft:
    return ArticleDraft(
        slug=row["slug"],
        language=row["language"],
        title=row["title"],
        body=row["body"],
        short=row["short"],
        tags=tuple(row["tags"]),
        case_types=tuple(row["case_types"]),
        status=check_status(row["status"]),
        translation_of=row["translation_of"],
    )


async def set_article_status(
    conn: AsyncConnection, slug_or_id: str | uuid.UUID, status: Status, *, editor: str | None, now: datetime
) -> ArticleChange | None:
    """Publish or unpublish an article (a new version when the status changes); None when not found."""
    article = await get_article(conn, slug_or_id)
    if article is None:
        return None
    draft = dataclasses.replace(article.draft(), status=check_status(status))
    return await upsert_article(conn, draft, editor=editor, now=now)


async def delete_article(conn: AsyncConnection, slug_or_id: str | uuid.UUID) -> Article | None:
    """Delete an article with its versions, passages and index entries; the deleted article, or None."""
    article = await get_article(conn, slug_or_id)
    if article is None:
        return None
    # Explicit deletes rather than ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
    await fulltext.remove_articles(conn, [article.id])
    await conn.execute(delete(schema.passages).where(schema.passages.c.article_id == article.id))
    await conn.execute(delete(_V).where(_V.c.article_id == article.id))
    await conn.execute(delete(_A).where(_A.c.id == article.id))
    return article
