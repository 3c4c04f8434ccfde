"""Keeping passages and the vector index current, one article at a time (toy encoder: machinery only)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge import schema
from knowledge.articles import ArticleChange, set_article_status, upsert_article
from knowledge.base import Embeddings, Kind
from knowledge.drafts import ArticleDraft
from knowledge.errors import KnowledgeError
from knowledge.indexing import (
    IndexUpdate,
    article_passages,
    from_blob,
    load_vector_index,
    replace_passages,
    retag_update,
    stale_articles,
    to_blob,
)
from knowledge.passages import passages_to_embed, split_passages
from knowledge.vectors import VectorIndex
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW, HashEncoder

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

ROUTER = ArticleDraft(
    "router-restart",
    "en",
    "Restarting your router",
    "## Unplug\n\nUnplug the router and wait thirty seconds before you plug it in.\n\n"
    "## Lights\n\nAfter two minutes the light turns green and the internet is back.",
    short="Unplug it for thirty seconds.",
)
ROAMING = ArticleDraft(
    "roaming", "en", "Roaming packages", "## Packs\n\nBuy a travel pack in the app before you fly abroad."
)


class CountingEncoder(HashEncoder):
    """The toy encoder, counting the texts it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
        self.texts.extend(texts)
        return super().encode(texts, kind)


async def _save(
    conn: AsyncConnection, index: VectorIndex, encoder: HashEncoder, draft: ArticleDraft
) -> tuple[ArticleChange, IndexUpdate]:
    """What the hub does for one imported or edited article (applied at once: these tests commit after)."""
    change = await upsert_article(conn, draft, editor="test", now=NOW)
    if change.passages_changed:
        vectors = encoder.encode(passages_to_embed(draft), "passage")
        passages = split_passages(draft.title, draft.body, draft.short)
        update = await replace_passages(conn, change.article.id, passages, vectors, encoder.model_id)
    else:
        update = retag_update(change.article)
    update.apply(index)
    return change, update


async def _passage_ids(conn: AsyncConnection, article_id: uuid.UUID) -> list[uuid.UUID]:
    return [p.id for p in await article_passages(conn, article_id)]


def test_vectors_are_stored_as_little_endian_float32() -> None:
    vector = np.array([1.0, -0.5, 0.25], np.float32)
    assert to_blob(vector) == b"\x00\x00\x80\x3f\x00\x00\x00\xbf\x00\x00\x80\x3e"
    np.testing.assert_array_equal(from_blob(to_blob(vector)), vector)


async def test_passages_are_stored_with_embeddings_and_model(kb_engine: AsyncEngine) -> None:
    encoder, index = HashEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        change, update = await _save(conn, index, encoder, ROUTER)
        stored = await article_passages(conn, change.article.id)
        blobs = (
            await conn.execute(select(schema.passages.c.embedding).order_by(schema.passages.c.position))
        ).scalars()
        vectors = np.stack([from_blob(b) for b in blobs])
    assert [(p.position, p.heading, p.model) for p in stored] == [
        (0, "", "hash-encoder"),
        (1, "Unplug", "hash-encoder"),
        (2, "Lights", "hash-encoder"),
    ]
    np.testing.assert_allclose(vectors, encoder.encode(passages_to_embed(ROUTER), "passage"), atol=1e-6)
    assert update.passage_ids == tuple(p.id for p in stored)
    assert len(index) == 3 and change.article.id in index


async def test_editing_one_article_replaces_only_its_passages(kb_engine: AsyncEngine) -> None:
    encoder, index = CountingEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        router, _ = await _save(conn, index, encoder, ROUTER)
        roaming, _ = await _save(conn, index, encoder, ROAMING)
        before_router = await _passage_ids(conn, router.article.id)
        before_roaming = await _passage_ids(conn, roaming.article.id)
        encoder.texts.clear()
        edited = dataclasses.replace(ROAMING, body="## Packs\n\nTravel packs work in 80 countries.")
        change, _ = await _save(conn, index, encoder, edited)
        after_router = await _passage_ids(conn, router.article.id)
        after_roaming = await _passage_ids(conn, roaming.article.id)
    assert change.passages_changed
    assert encoder.texts == passages_to_embed(edited)  # nothing of the router article was embedded again
    assert after_router == before_router
    assert not set(after_roaming) & set(before_roaming)
    query = encoder.encode(["travel packs countries"])[0]
    hits = index.search(query, 10)
    assert {h.key for h in hits if h.owner == roaming.article.id} == set(after_roaming)
    assert {h.key for h in hits if h.owner == router.article.id} == set(before_router)


async def test_an_unchanged_reimport_embeds_and_replaces_nothing(kb_engine: AsyncEngine) -> None:
    encoder, index = CountingEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        first, _ = await _save(conn, index, encoder, ROUTER)
        before = await _passage_ids(conn, first.article.id)
        encoder.texts.clear()
        again, update = await _save(conn, index, encoder, ROUTER)
        after = await _passage_ids(conn, first.article.id)
    assert again.change == "unchanged" and update.passage_ids is None
    assert encoder.texts == [] and after == before and len(index) == 3


async def test_unpublishing_retags_the_rows_without_embedding(kb_engine: AsyncEngine) -> None:
    encoder, index = CountingEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        router, _ = await _save(conn, index, encoder, ROUTER)
        encoder.texts.clear()
        change, _ = await _save(conn, index, encoder, dataclasses.replace(ROUTER, status="draft"))
    assert change.change == "updated" and not change.passages_changed and encoder.texts == []
    query = encoder.encode(["unplug router"])[0]
    assert index.search(query, 5, where=lambda tag: tag.startswith("published")) == []
    assert {h.owner for h in index.search(query, 5)} == {router.article.id}


async def test_the_index_loads_from_stored_embeddings_in_one_go(kb_engine: AsyncEngine) -> None:
    encoder, live = HashEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        await _save(conn, live, encoder, ROUTER)
        roaming, _ = await _save(conn, live, encoder, ROAMING)
        await set_article_status(conn, "roaming", "draft", editor=None, now=NOW)
    async with kb_engine.connect() as conn:
        loaded = await load_vector_index(conn)
        other_model = await load_vector_index(conn, model="another-model")
    query = encoder.encode(["light turns green"])[0]
    assert [(h.owner, h.key) for h in loaded.search(query, 5)] == [
        (h.owner, h.key) for h in live.search(query, 5)
    ]
    for hit, again in zip(loaded.search(query, 5), live.search(query, 5), strict=True):
        assert hit.score == pytest.approx(again.score, abs=1e-6)
    # The unpublished article is tagged as a draft in the loaded index.
    published = loaded.search(query, 10, where=lambda tag: tag.startswith("published"))
    assert roaming.article.id not in {h.owner for h in published}
    assert len(other_model) == 0


async def test_stale_articles_are_those_not_embedded_by_the_model(kb_engine: AsyncEngine) -> None:
    encoder, index = HashEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        router, _ = await _save(conn, index, encoder, ROUTER)
        bare = (await upsert_article(conn, ROAMING, editor=None, now=NOW)).article
        text_only = (
            await upsert_article(conn, dataclasses.replace(ROAMING, slug="fts-only"), editor=None, now=NOW)
        ).article
        passages = split_passages(ROAMING.title, ROAMING.body)
        await replace_passages(conn, text_only.id, passages, None, None)
        assert set(await stale_articles(conn, "hash-encoder")) == {bare.id, text_only.id}
        assert set(await stale_articles(conn, "another-model")) == {router.article.id, bare.id, text_only.id}


async def test_embeddings_must_match_the_passages(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        article = (await upsert_article(conn, ROUTER, editor=None, now=NOW)).article
        passages = split_passages(ROUTER.title, ROUTER.body, ROUTER.short)
        with pytest.raises(KnowledgeError, match="embeddings"):
            await replace_passages(conn, article.id, passages, np.zeros((1, 8)), "m")
        with pytest.raises(KnowledgeError, match="no article"):
            await replace_passages(conn, uuid.uuid4(), passages, None, None)


async def test_no_passages_removes_the_article_from_the_index(kb_engine: AsyncEngine) -> None:
    encoder, index = HashEncoder(), VectorIndex()
    async with kb_engine.begin() as conn:
        router, _ = await _save(conn, index, encoder, ROUTER)
        update = await replace_passages(conn, router.article.id, [], np.zeros((0, 64)), "hash-encoder")
    update.apply(index)
    assert router.article.id not in index
