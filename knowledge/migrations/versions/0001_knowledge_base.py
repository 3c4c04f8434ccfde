"""knowledge base: articles, scripts, their versions, passages and their full-text index, cases, suggestions

Revision ID: kb0001
Revises:
Create Date: 2026-11-24 05:49:47
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "kb0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _status_check(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint("status IN ('draft', 'published')", name=op.f(f"ck_{table}_status"))


def _index(table: str, *columns: str, name: str | None = None) -> None:
    op.create_index(name or op.f(f"ix_{table}_{columns[0]}"), table, list(columns), unique=False)


def _create_articles() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("short", sa.Text(), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("case_types", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("translation_of", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        _status_check("kb_articles"),
        _pk("kb_articles"),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
    )
    _index("kb_articles", "language")
    _index("kb_articles", "translation_of")
    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("short", sa.Text(), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("case_types", _json(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("translation_of", sa.String(length=200), nullable=True),
        sa.Column("editor", sa.String(length=200), nullable=True),
        sa.Column("edited_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        _pk("kb_article_versions"),
        sa.UniqueConstraint("article_id", "version", name=op.f("uq_kb_article_versions_article_id_version")),
    )


def _create_scripts() -> None:
    op.create_table(
        "kb_scripts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("case_type", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("steps", _json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("translation_of", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        _status_check("kb_scripts"),
        _pk("kb_scripts"),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_scripts_slug")),
    )
    _index("kb_scripts", "case_type", "language", name="ix_kb_scripts_case_type_language")
    op.create_table(
        "kb_script_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("script_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("case_type", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("steps", _json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("translation_of", sa.String(length=200), nullable=True),
        sa.Column("editor", sa.String(length=200), nullable=True),
        sa.Column("edited_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["kb_scripts.id"],
            name=op.f("fk_kb_script_versions_script_id_kb_scripts"),
            ondelete="CASCADE",
        ),
        _pk("kb_script_versions"),
        sa.UniqueConstraint("script_id", "version", name=op.f("uq_kb_script_versions_script_id_version")),
    )


def _create_passages() -> None:
    op.create_table(
        "kb_passages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_passages_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        _pk("kb_passages"),
        sa.UniqueConstraint("article_id", "position", name=op.f("uq_kb_passages_article_id_position")),
    )
    # The full-text index, by hand: no SQLAlchemy type describes either. knowledge.fulltext keeps it in step
    # with kb_passages (no triggers: they would differ between the databases and be tested on one only).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_passages_fts USING fts5("
            "terms, passage_id UNINDEXED, article_id UNINDEXED, tokenize = 'unicode61')"
        )
        return
    op.execute(
        "CREATE TABLE kb_passages_fts ("
        "passage_id uuid PRIMARY KEY, article_id uuid NOT NULL, document tsvector NOT NULL)"
    )
    op.execute("CREATE INDEX ix_kb_passages_fts_document ON kb_passages_fts USING gin (document)")
    op.execute("CREATE INDEX ix_kb_passages_fts_article_id ON kb_passages_fts (article_id)")


def _create_cases_and_suggestions() -> None:
    op.create_table(
        "kb_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("resolved_at", _time(), nullable=False),
        _pk("kb_cases"),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_kb_cases_conversation_id")),
    )
    _index("kb_cases", "contact_id")
    _index("kb_cases", "resolved_at")
    op.create_table(
        "kb_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("scores", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", _time(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('article', 'reply', 'script', 'case')", name=op.f("ck_kb_suggestions_kind")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('sent_as_is', 'edited', 'dismissed')",
            name=op.f("ck_kb_suggestions_outcome"),
        ),
        _pk("kb_suggestions"),
    )
    _index("kb_suggestions", "conversation_id")
    _index("kb_suggestions", "interaction_id")


def upgrade() -> None:
    _create_articles()
    _create_scripts()
    _create_passages()
    _create_cases_and_suggestions()


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS kb_passages_fts")
    for table in (
        "kb_suggestions",
        "kb_cases",
        "kb_passages",
        "kb_script_versions",
        "kb_scripts",
        "kb_article_versions",
        "kb_articles",
    ):
        op.drop_table(table)
