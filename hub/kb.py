"""The knowledge base as the hub runs it: import and edits (embedded once, indexed at once), search.

The store and retrieval live in ``knowledge``; this wires them to the database engines and the shared
encoder, and keeps the in-memory vector indexes current: an edited article re-embeds only its own passages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from crm_core.db import Database
from crm_core.resolved import resolved_since
from hub.language import guess_language
from hub.messages import utcnow
from hub.models import ModelService
from knowledge import schema
from knowledge.articles import Article, get_article, upsert_article
from knowledge.call_scripts import upsert_script
from knowledge.cases import CaseRecord, load_case_index, record_case
from knowledge.drafts import ArticleDraft
from knowledge.importer import ImportBatch
from knowledge.indexing import IndexUpdate, load_vector_index, replace_passages, retag_update
from knowledge.passages import embedding_text, split_passages
from knowledge.retrieval import Hit, search
from knowledge.vectors import VectorIndex

__all__ = ["ImportReport", "KnowledgeService"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ImportReport:
    """What an import did, per kind of change."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


class KnowledgeService:
    """Articles, scripts and past cases, searchable by text and by meaning."""

    def __init__(self, db: Database, models: ModelService, *, refresh_seconds: float = 10.0) -> None:
        self._db = db
        self.models = models
        self.articles = VectorIndex()
        self.cases = VectorIndex()
        self.refresh_seconds = refresh_seconds
        self._seen: tuple[Any, ...] | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the vector indexes, then keep them current with what other processes write."""
        await self.reload()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="knowledge-refresh")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)

    async def reload(self) -> None:
        """Rebuild both indexes from the stored embeddings (one query each)."""
        async with self._db.reader.connect() as conn:
            seen = await _fingerprint(conn)
            self.articles = await load_vector_index(conn)
            self.cases = await load_case_index(conn)
        self._seen = seen
        log.info("knowledge: %d article passages, %d past cases indexed", len(self.articles), len(self.cases))

    async def _refresh_forever(self) -> None:
        # Edits made here are applied at once; this catches those of other hub processes and the CLI,
        # and files newly resolved conversations as past cases.
        while True:
            try:
                await self.index_resolved()
                async with self._db.reader.connect() as conn:
                    seen = await _fingerprint(conn)
                if seen != self._seen:
                    await self.reload()
            except Exception:  # task boundary: a database hiccup must not end the refreshes
                log.warning("knowledge: could not check for changes", exc_info=True)
            await asyncio.sleep(self.refresh_seconds)

    async def index_resolved(self, *, batch: int = 200) -> int:
        """File conversations resolved since the newest past case as cases (question + resolution)."""
        done = 0
        while True:
            async with self._db.reader.connect() as conn:
                newest = (await conn.execute(select(func.max(schema.cases.c.resolved_at)))).scalar()
                found = await resolved_since(conn, newest, limit=batch)
            if not found:
                return done
            vectors = await self.models.encode([c.question for c in found], "query")
            model = await self.models.model_id()
            updates = []
            async with self._db.writer.begin() as conn:
                for case, vector in zip(found, vectors, strict=True):
                    record = CaseRecord(
                        case.conversation_id,
                        case.contact_id,
                        case.language or guess_language(case.question),
                        case.question,
                        case.resolution,
                        case.resolved_at,
                    )
                    updates.append(await record_case(conn, record, vector, model))
            for update in updates:
                update.apply(self.cases)
            done += len(found)
            if len(found) < batch:
                return done

    async def save_article(self, draft: ArticleDraft, *, editor: str | None) -> tuple[Article, str]:
        """Create or edit an article; its passages are re-embedded only when its text changed."""
        try:
            return await self._save(draft, editor)
        except _Retry:  # edited by someone else between our read and our write: once more, embedding it
            return await self._save(draft, editor)

    async def _save(self, draft: ArticleDraft, editor: str | None) -> tuple[Article, str]:
        async with self._db.reader.connect() as conn:
            current = await get_article(conn, draft.slug)
        passages, vectors, model = [], None, None
        if current is None or _text_of(current.draft()) != _text_of(draft):
            passages = split_passages(draft.title, draft.body, draft.short)
            texts = [embedding_text(draft.title, p, draft.tags) for p in passages]
            vectors, model = await self._embed(texts)
        async with self._db.writer.begin() as conn:
            change = await upsert_article(conn, draft, editor=editor, now=utcnow())
            update: IndexUpdate | None = None
            if change.passages_changed:
                if vectors is None:
                    raise _Retry  # rolls the upsert back
                update = await replace_passages(conn, change.article.id, passages, vectors, model)
            elif change.changed:
                update = retag_update(change.article)
        if update is not None:
            update.apply(self.articles)
        return change.article, change.change

    async def import_batch(self, batch: ImportBatch, *, editor: str | None) -> ImportReport:
        """Upsert every draft of an import (a bad one is reported and the rest go on)."""
        report = ImportReport(failures=[(f.file, f.reason) for f in batch.errors])
        for draft in batch.articles:
            try:
                _article, change = await self.save_article(draft, editor=editor)
            except Exception as err:  # boundary: one article must not stop the import
                log.exception("knowledge import: article %s failed", draft.slug)
                report.failures.append((draft.slug, str(err)))
                continue
            {"created": report.created, "updated": report.updated}.get(change, report.unchanged).append(
                draft.slug
            )
        async with self._db.writer.begin() as conn:
            for script in batch.scripts:
                await upsert_script(conn, script, editor=editor, now=utcnow())
                report.scripts.append(script.slug)
        return report

    async def search(
        self, query: str, *, language: str | None = None, prefer_language: str | None = None, k: int = 5
    ) -> list[Hit]:
        """The best articles for a question, by full text and by meaning, each with its cited passage."""
        vector = (await self.models.encode([query], "query"))[0]
        return await self.search_vector(
            query, vector, language=language, prefer_language=prefer_language, k=k
        )

    async def search_vector(
        self,
        query: str,
        vector: NDArray[np.float32],
        *,
        language: str | None = None,
        prefer_language: str | None = None,
        k: int = 5,
    ) -> list[Hit]:
        """Like :meth:`search`, for a query already embedded (a message is encoded once)."""
        async with self._db.reader.connect() as conn:
            return await search(
                conn, self.articles, query, vector, language=language, prefer_language=prefer_language, k=k
            )

    async def _embed(self, texts: Sequence[str]) -> tuple[NDArray[np.float32], str]:
        vectors = await self.models.encode(list(texts), "passage")
        return vectors, await self.models.model_id()


class _Retry(Exception):
    """The article changed between reading and writing it: embed again."""


async def _fingerprint(conn: Any) -> tuple[Any, ...]:
    """Changes whenever an article or a past case is written, by any process."""
    found = await conn.execute(
        select(func.count(), func.max(schema.articles.c.updated_at)).select_from(schema.articles)
    )
    cases = await conn.execute(
        select(func.count(), func.max(schema.cases.c.resolved_at)).select_from(schema.cases)
    )
    return (*found.one(), *cases.one())


def _text_of(draft: ArticleDraft) -> tuple[str, str, str]:
    # What knowledge.articles compares to decide that passages changed.
    return (draft.title, draft.body, draft.short)
