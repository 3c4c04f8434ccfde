"""Keeping an article's passages current: stored with embeddings, full-text indexed, in the vector index.

One article at a time, never a full rebuild. The hub, which owns the encoder, runs::

    change = await upsert_article(conn, draft, editor=..., now=...)
    if change.passages_changed:
        vectors = await batcher.encode_many(passages_to_embed(draft), "passage")
        update = await replace_passages(conn, change.article.id, draft_passages(draft), vectors, model_id)
    else:
        update = retag_update(change.article)         # status or language may have changed
    # after the transaction commits:
    update.apply(index)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import fulltext, schema
from .articles import Article, get_article
from .errors import KnowledgeError
from .passages import Passage, embedding_text
from .vectors import VectorIndex

__all__ = [
    "IndexUpdate",
    "StoredPassage",
    "article_passages",
    "article_tag",
    "from_blob",
    "load_vector_index",
    "replace_passages",
    "retag_update",
    "stale_articles",
    "tag_filter",
    "to_blob",
]

_P = schema.passages
_A = schema.articles


def to_blob(vector: ArrayLike) -> bytes:
    """A vector as stored: float32, little-endian."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> NDArray[np.float32]:
    """A stored vector back as a float32 array."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def article_tag(status: str, language: str) -> str:
    """The tag an article's rows carry in the vector index, so a search can filter without the database."""
    return f"{status}:{language}"


def tag_filter(language: str | None, include_drafts: bool) -> Callable[[str], bool]:
    """Which tags a search may return."""

    def allowed(tag: str) -> bool:
        status, _, tag_language = tag.partition(":")
        return (include_drafts or status == "published") and language in (None, tag_language)

    return allowed


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as stored, with the model that embedded it (None while not embedded)."""

    id: uuid.UUID
    article_id: uuid.UUID
    position: int
    heading: str
    text: str
    model: str | None


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    """What the in-memory vector index must do for one article once the transaction has committed."""

    article_id: uuid.UUID
    tag: str
    passage_ids: tuple[uuid.UUID, ...] | None  # None: keep the rows, change only the tag
    vectors: NDArray[np.float32] | None = field(default=None, compare=False)

    def apply(self, index: VectorIndex) -> None:
        """Bring ``index`` up to date for this article."""
        if self.passage_ids is None:
            index.retag(self.article_id, self.tag)
        elif self.passage_ids and self.vectors is not None:
            index.replace(self.article_id, self.passage_ids, self.vectors, self.tag)
        else:
            index.remove(self.article_id)


def retag_update(article: Article) -> IndexUpdate:
    """The update for an article whose text did not change (its status or language may have)."""
    return IndexUpdate(article.id, article_tag(article.status, article.language), None)


def _checked(passages: Sequence[Passage], embeddings: ArrayLike | None) -> NDArray[np.float32] | None:
    if embeddings is None:
        return None
    vectors = np.asarray(embeddings, dtype=np.float32)
    if passages and (vectors.ndim != 2 or vectors.shape[0] != len(passages)):
        raise KnowledgeError(f"embeddings of shape {vectors.shape} for {len(passages)} passages")
    return vectors


async def replace_passages(
    conn: AsyncConnection,
    article_id: uuid.UUID,
    passages: Sequence[Passage],
    embeddings: ArrayLike | None,
    model: str | None,
) -> IndexUpdate:
    """Make ``passages`` (embedded as ``embeddings`` by ``model``) the article's, full-text index included."""
    article = await get_article(conn, article_id)
    if article is None:
        raise KnowledgeError(f"no article {article_id}")
    vectors = _checked(passages, embeddings)
    await fulltext.remove_articles(conn, [article_id])
    await conn.execute(delete(_P).where(_P.c.article_id == article_id))
    ids = tuple(schema.new_id() for _ in passages)
    if passages:
        await conn.execute(
            _P.insert(),
            [
                {
                    "id": passage_id,
                    "article_id": article_id,
                    "position": p.position,
                    "heading": p.heading,
                    "text": p.text,
                    "embedding": None if vectors is None else to_blob(vectors[n]),
                    "model": None if vectors is None else model,
                }
                for n, (passage_id, p) in enumerate(zip(ids, passages, strict=True))
            ],
        )
        rows = [
            fulltext.FullTextRow(pid, article_id, embedding_text(article.title, p, article.tags))
            for pid, p in zip(ids, passages, strict=True)
        ]
        await fulltext.index_passages(conn, rows)
    tag = article_tag(article.status, article.language)
    return IndexUpdate(article_id, tag, ids if vectors is not None else (), vectors)


async def article_passages(conn: AsyncConnection, article_id: uuid.UUID) -> list[StoredPassage]:
    """An article's passages in order."""
    statement = (
        select(_P.c.id, _P.c.article_id, _P.c.position, _P.c.heading, _P.c.text, _P.c.model)
        .where(_P.c.article_id == article_id)
        .order_by(_P.c.position)
    )
    return [StoredPassage(*row) for row in (await conn.execute(statement)).all()]


async def stale_articles(conn: AsyncConnection, model: str) -> list[uuid.UUID]:
    """Articles to (re-)embed with ``model``: with no passages, or a passage not embedded by it."""
    unembedded = select(_P.c.article_id).where(or_(_P.c.model.is_(None), _P.c.model != model))
    bare = select(_A.c.id).where(~select(_P.c.id).where(_P.c.article_id == _A.c.id).exists())
    statement = select(_A.c.id).where(or_(_A.c.id.in_(unembedded), _A.c.id.in_(bare))).order_by(_A.c.slug)
    return list((await conn.execute(statement)).scalars())


async def load_vector_index(conn: AsyncConnection, *, model: str | None = None) -> VectorIndex:
    """The vector index of every embedded passage (of ``model`` only, when given), built in one query."""
    statement = (
        select(_P.c.article_id, _P.c.id, _P.c.embedding, _A.c.status, _A.c.language)
        .join(_A, _A.c.id == _P.c.article_id)
        .where(_P.c.embedding.is_not(None))
        .order_by(_P.c.article_id, _P.c.position)
    )
    if model is not None:
        statement = statement.where(_P.c.model == model)
    rows = (await conn.execute(statement)).all()
    if not rows:
        return VectorIndex()
    matrix = np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").reshape(len(rows), -1)
    return VectorIndex.from_rows(
        [r.article_id for r in rows],
        [r.id for r in rows],
        matrix,
        [article_tag(r.status, r.language) for r in rows],
    )
