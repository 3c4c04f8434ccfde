"""Hybrid search: reciprocal rank fusion (pure) and search on both databases (toy encoder: machinery only)."""

from __future__ import annotations

import math
import threading
import uuid
from typing import Any

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge import retrieval
from knowledge.articles import Article, set_article_status, upsert_article
from knowledge.drafts import ArticleDraft
from knowledge.indexing import article_passages, replace_passages
from knowledge.passages import passages_to_embed, split_passages
from knowledge.retrieval import RRF_K, Hit, fuse, search
from knowledge.vectors import VectorHit, VectorIndex
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW, HashEncoder

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

A, B, C = "a", "b", "c"
P = {name: uuid.uuid4() for name in ("a1", "a2", "b1", "c1", "c2")}


def test_rrf_sums_reciprocal_ranks_per_unit() -> None:
    text = [(A, P["a1"]), (B, P["b1"]), (C, P["c1"])]
    dense = [(C, P["c2"]), (A, P["a1"])]
    fused = fuse([text, dense])
    assert [f.unit for f in fused] == [A, C, B]
    assert fused[0].score == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused[1].score == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert [f.ranks for f in fused] == [(1, 2), (3, 1), (2, None)]
    assert fuse([]) == [] and fuse([[], []]) == []


def test_a_units_rank_counts_units_and_its_cited_passage_is_its_best_fused_one() -> None:
    text = [(A, P["a1"]), (A, P["a2"]), (B, P["b1"])]
    dense = [(B, P["b1"]), (A, P["a2"])]
    fused = {f.unit: f for f in fuse([text, dense])}
    assert fused[B].ranks == (2, 1)  # second unit in the text list, though third passage
    assert fused[A].passage_id == P["a2"]  # a2 is in both lists, a1 only in one
    assert fused[B].passage_id == P["b1"]


ARTICLES = [
    ArticleDraft(
        "router-restart",
        "en",
        "Restarting your router",
        "## Unplug\n\nUnplug the router and wait thirty seconds.\n\n"
        "## Lights\n\nThe light turns green again.",
        short="Unplug the router for thirty seconds.",
    ),
    ArticleDraft(
        "router-restart-he",
        "he",
        "הפעלה מחדש של הראוטר",
        "## ניתוק\n\nמנתקים את הראוטר מהחשמל וממתינים שלושים שניות לפני שמחברים שוב.",
        translation_of="router-restart",
    ),
    ArticleDraft("roaming", "en", "Roaming packages", "## Packs\n\nBuy a travel pack before you fly abroad."),
    ArticleDraft(
        "tv-plus", "en", "TV plus", "## Soon\n\nThe new television package with sports.", status="draft"
    ),
]


KB = tuple[AsyncEngine, VectorIndex, dict[str, Article]]


@pytest.fixture
async def kb(kb_engine: AsyncEngine) -> KB:
    encoder, index = HashEncoder(), VectorIndex()
    stored: dict[str, Article] = {}
    async with kb_engine.begin() as conn:
        for draft in ARTICLES:
            article = (await upsert_article(conn, draft, editor=None, now=NOW)).article
            vectors = encoder.encode(passages_to_embed(draft), "passage")
            passages = split_passages(draft.title, draft.body, draft.short)
            (await replace_passages(conn, article.id, passages, vectors, encoder.model_id)).apply(index)
            stored[draft.slug] = article
    return kb_engine, index, stored


SAME = object()  # embed the query text with the toy encoder


async def _search(kb: KB, text: str, vector: object = SAME, **kw: object) -> list[Hit]:
    engine, index, _ = kb
    query_vector = HashEncoder().encode([text])[0] if vector is SAME else vector
    async with engine.connect() as conn:
        return await search(conn, index, text, query_vector, **kw)  # type: ignore[arg-type]


async def test_a_hit_names_its_article_cites_a_passage_and_keeps_its_scores(kb: KB) -> None:
    (hit, *_) = await _search(kb, "wait thirty seconds", language="en")
    assert (hit.slug, hit.title, hit.language) == ("router-restart", "Restarting your router", "en")
    assert hit.short == "Unplug the router for thirty seconds."
    assert "thirty seconds" in hit.passage
    assert hit.fulltext_rank == 1 and hit.dense_rank == 1
    assert hit.score == pytest.approx(2 / (RRF_K + 1))
    _, index, stored = kb
    best = index.best_of(stored["router-restart"].id, HashEncoder().encode(["wait thirty seconds"])[0])
    assert best is not None and hit.dense == pytest.approx(best.score)


async def test_drafts_are_not_searchable_unless_asked_for(kb: KB) -> None:
    # The toy vectors of other articles are still (poor) dense candidates: the draft is what must be absent.
    assert "tv-plus" not in [h.slug for h in await _search(kb, "television sports")]
    assert await _search(kb, "television sports", None) == []
    found = await _search(kb, "television sports", include_drafts=True)
    assert [h.slug for h in found][:1] == ["tv-plus"]


async def test_a_translation_family_is_one_hit_in_the_preferred_language(kb: KB) -> None:
    query = "router ראוטר"
    assert len([h for h in await _search(kb, query) if h.slug.startswith("router-restart")]) == 1
    (he, *_) = await _search(kb, query, prefer_language="he")
    assert he.slug == "router-restart-he" and "שלושים" in he.passage
    (en, *_) = await _search(kb, query, prefer_language="en")
    assert en.slug == "router-restart"
    (fa, *_) = await _search(kb, "ראוטר", prefer_language="fa")
    assert fa.slug == "router-restart"  # no Persian member: the original, not the Hebrew translation


async def test_a_language_filter_applies_to_both_rankings(kb: KB) -> None:
    assert [h.slug for h in await _search(kb, "router ראוטר", language="he")] == ["router-restart-he"]


async def test_dense_alone_finds_an_article_in_another_language(kb: KB) -> None:
    hebrew = HashEncoder().encode(passages_to_embed(ARTICLES[1]), "passage")[0]
    hits = await _search(kb, "nothing matches these words", hebrew)
    assert hits[0].slug == "router-restart-he"
    assert hits[0].fulltext_rank is None and hits[0].dense_rank == 1
    assert hits[0].dense == pytest.approx(1.0, abs=1e-5)
    assert "router-restart-he" not in [h.slug for h in await _search(kb, "nothing", hebrew, language="en")]


async def test_without_a_query_vector_full_text_alone_ranks(kb: KB) -> None:
    hits = await _search(kb, "travel pack abroad", None)
    assert [h.slug for h in hits] == ["roaming"]
    assert hits[0].dense is None and hits[0].dense_rank is None and hits[0].fulltext_rank == 1


async def test_a_preferred_translation_without_a_matching_passage_cites_its_first(kb: KB) -> None:
    engine, _, stored = kb
    (hit, *_) = await _search(kb, "green light", None, prefer_language="he")
    async with engine.connect() as conn:
        first = (await article_passages(conn, stored["router-restart-he"].id))[0]
    assert (hit.slug, hit.passage_id, hit.passage) == ("router-restart-he", first.id, first.text)
    assert hit.fulltext_rank == 1 and hit.dense is None


async def test_a_large_index_is_searched_in_a_worker_thread(kb: KB, monkeypatch: pytest.MonkeyPatch) -> None:
    _, index, _ = kb
    threads: list[str] = []
    search_rows = index.search

    def recording(*args: Any, **kwargs: Any) -> list[VectorHit]:
        threads.append(threading.current_thread().name)
        return search_rows(*args, **kwargs)

    monkeypatch.setattr(index, "search", recording)
    await _search(kb, "router")
    small = set(threads)
    threads.clear()
    monkeypatch.setattr(retrieval, "_THREAD_ROWS", 0)
    hits = await _search(kb, "router")
    main = threading.main_thread().name
    assert small == {main} and threads and main not in threads
    assert hits[0].slug == "router-restart"


async def test_k_limits_the_hits(kb: KB) -> None:
    assert len(await _search(kb, "router travel green", k=1)) == 1
    assert len(await _search(kb, "router travel green", k=5)) == 2


async def test_an_article_unpublished_since_the_index_heard_is_left_out(kb: KB) -> None:
    engine, _, _ = kb
    async with engine.begin() as conn:
        await set_article_status(conn, "roaming", "draft", editor=None, now=NOW)  # index not told
    assert "roaming" not in [h.slug for h in await _search(kb, "travel pack abroad")]


async def test_an_empty_index_and_no_words_find_nothing(kb_engine: AsyncEngine) -> None:
    async with kb_engine.connect() as conn:
        assert await search(conn, VectorIndex(), "router", np.ones(64, np.float32)) == []


def test_dense_candidates_are_ranked_fairly_across_languages() -> None:
    # Every Persian row is close to the question (e5 favours its own language); the English row that stands
    # out among English rows is the one that answers it, and must outrank the merely-Persian ones.
    rng = np.random.default_rng(3)
    query = np.zeros(8, dtype=np.float32)
    query[0] = 1.0

    def row(cosine: float) -> np.ndarray:
        noise = rng.normal(size=7)
        noise *= math.sqrt(1 - cosine**2) / np.linalg.norm(noise)
        return np.array([cosine, *noise], dtype=np.float32)

    index = VectorIndex()
    persian = [uuid.uuid4() for _ in range(12)]
    english = [uuid.uuid4() for _ in range(12)]
    for n, owner in enumerate(persian):
        index.add(owner, [uuid.uuid4()], [row(0.90 - 0.002 * n)], "published:fa")
    for n, owner in enumerate(english):
        index.add(owner, [uuid.uuid4()], [row(0.86 if n == 0 else 0.70 - 0.002 * n)], "published:en")
    plain = index.search(query, 5)
    assert english[0] not in [hit.owner for hit in plain]
    fair = retrieval._balanced(index, query, 5, None, False)
    assert fair[0].owner == english[0]
    only = retrieval._balanced(index, query, 5, "fa", False)
    assert {hit.owner for hit in only} <= set(persian)


def test_fusion_weights_say_how_much_each_ranking_counts() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    rankings = [[("a", first), ("b", second)], [("b", second), ("a", first)]]
    assert [f.unit for f in fuse(rankings, weights=(1.0, 0.5))] == ["a", "b"]
    assert [f.unit for f in fuse(rankings, weights=(0.5, 1.0))] == ["b", "a"]
