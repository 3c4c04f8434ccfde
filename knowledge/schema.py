"""The knowledge base's tables, on the knowledge package's own MetaData (SQLite and PostgreSQL alike).

The full-text index is not here: it is an FTS5 virtual table on SQLite and a tsvector table on
PostgreSQL, both named ``kb_passages_fts``, made by the migration and kept by ``knowledge.fulltext``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from uuid_utils.compat import uuid7

__all__ = [
    "ARTICLE_STATUSES",
    "FTS_TABLE",
    "OUTCOMES",
    "SUGGESTION_KINDS",
    "UTCDateTime",
    "article_versions",
    "articles",
    "cases",
    "metadata",
    "new_id",
    "passages",
    "script_versions",
    "scripts",
    "suggestions",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

FTS_TABLE = "kb_passages_fts"
ARTICLE_STATUSES = ("draft", "published")
SUGGESTION_KINDS = ("article", "reply", "script", "case")
OUTCOMES = ("sent_as_is", "edited", "dismissed")


def new_id() -> uuid.UUID:
    """A time-ordered id (UUIDv7), so new rows land at the end of indexes."""
    return uuid7()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware in Python and UTC in the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep UTC without offset so strings sort by time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType: Any = JSON().with_variant(JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


articles = Table(
    "kb_articles",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("language", String(16), nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("body", Text(), nullable=False),
    Column("short", Text(), nullable=False),
    Column("tags", JsonType, nullable=False),
    Column("case_types", JsonType, nullable=False),
    Column("status", String(16), nullable=False),
    Column("translation_of", String(200), nullable=True, index=True),
    Column("version", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("status", ARTICLE_STATUSES), name="status"),
)

article_versions = Table(
    "kb_article_versions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("article_id", Uuid(), ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("language", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text(), nullable=False),
    Column("short", Text(), nullable=False),
    Column("tags", JsonType, nullable=False),
    Column("case_types", JsonType, nullable=False),
    Column("status", String(16), nullable=False),
    Column("translation_of", String(200), nullable=True),
    Column("editor", String(200), nullable=True),
    Column("edited_at", UTCDateTime(), nullable=False),
    UniqueConstraint("article_id", "version"),
)

scripts = Table(
    "kb_scripts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("case_type", String(100), nullable=False),
    Column("language", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("steps", JsonType, nullable=False),
    Column("notes", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("translation_of", String(200), nullable=True),
    Column("version", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("status", ARTICLE_STATUSES), name="status"),
    Index("ix_kb_scripts_case_type_language", "case_type", "language"),
)

# A versions table rather than a JSON history on the script row: the same shape as the articles' history,
# one row written per edit (no read-modify-write of an ever-growing document), and each version queryable.
script_versions = Table(
    "kb_script_versions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("script_id", Uuid(), ForeignKey("kb_scripts.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("case_type", String(100), nullable=False),
    Column("language", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("steps", JsonType, nullable=False),
    Column("notes", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("translation_of", String(200), nullable=True),
    Column("editor", String(200), nullable=True),
    Column("edited_at", UTCDateTime(), nullable=False),
    UniqueConstraint("script_id", "version"),
)

passages = Table(
    "kb_passages",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("article_id", Uuid(), ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("heading", String(500), nullable=False),
    Column("text", Text(), nullable=False),
    # float32 little-endian, L2-normalised; NULL until the hub has embedded it.
    Column("embedding", LargeBinary(), nullable=True),
    Column("model", String(200), nullable=True),
    UniqueConstraint("article_id", "position"),
)

# conversation_id and contact_id point into the CRM's tables, which are another part's: no foreign keys.
cases = Table(
    "kb_cases",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("conversation_id", Uuid(), nullable=False, unique=True),
    Column("contact_id", Uuid(), nullable=True, index=True),
    Column("language", String(16), nullable=False),
    Column("question", Text(), nullable=False),
    Column("resolution", Text(), nullable=False),
    Column("embedding", LargeBinary(), nullable=False),
    Column("model", String(200), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=False, index=True),
)

suggestions = Table(
    "kb_suggestions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("conversation_id", Uuid(), nullable=False, index=True),
    Column("interaction_id", Uuid(), nullable=True, index=True),
    Column("kind", String(16), nullable=False),
    Column("payload", JsonType, nullable=False),
    Column("model", String(200), nullable=True),
    Column("scores", JsonType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=True),
    Column("outcome_at", UTCDateTime(), nullable=True),
    Column("agent_id", Uuid(), nullable=True),
    CheckConstraint(_in("kind", SUGGESTION_KINDS), name="kind"),
    CheckConstraint(f"outcome IS NULL OR {_in('outcome', OUTCOMES)}", name="outcome"),
)
