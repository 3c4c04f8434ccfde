"""Hybrid search: full-text and dense passage rankings fused by reciprocal rank fusion, per article.

An article and its translations are one result (their "family": the original's slug), so one topic
does not fill the top five in four languages. Each list ranks passages; a family's rank in a list is the
place of its first passage there (counting families, not passages). The fused score is
``sum(1 / (RRF_K + rank))`` over the lists that hold the family. The article shown is the family's member
in ``prefer_language`` when there is one, else the original (when a preference was given: a Persian reader
gets the English original rather than its Arabic translation), else the member of the best passage; the
cited passage is that article's passage with the best passage-level fused score (or its best by cosine).
Every hit keeps the cosine of its article's best passage to the query (``dense``): fused scores only
order, the cosine is what a bot's confidence threshold can be calibrated on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import fulltext, schema
from .indexing import tag_filter
from .vectors import VectorHit, VectorIndex

__all__ = ["RRF_K", "Fused", "Hit", "fuse", "search"]

RRF_K = 60
# Above this many rows a dense search is worth a thread hop, so the event loop is not held for it.
_LEVEL_OF = 10
FULLTEXT_WEIGHT = 1.0
DENSE_WEIGHT = 1.0
_THREAD_ROWS = 20_000
_A = schema.articles
_P = schema.passages

Ranking = Sequence[tuple[Hashable, uuid.UUID]]  # (unit, passage id) pairs, best first


@dataclass(frozen=True, slots=True)
class Hit:
    """An article that matched, the passage cited for it and the scores that put it here."""

    article_id: uuid.UUID
    slug: str
    title: str
    language: str
    passage_id: uuid.UUID
    heading: str
    passage: str
    short: str  # the article's SMS-sized variant ("" when it has none)
    score: float  # fused (reciprocal rank fusion); orders hits within one search
    dense: float | None  # cosine of the article's best passage to the query; None without embeddings
    fulltext_rank: int | None  # the result's place (1-based) in the full-text ranking, None if absent
    dense_rank: int | None  # the result's place (1-based) in the dense ranking, None if absent


@dataclass(frozen=True, slots=True)
class Fused:
    """A unit's fused score, its best passage and its rank in each ranking (None where absent)."""

    unit: Hashable
    passage_id: uuid.UUID
    score: float
    ranks: tuple[int | None, ...]


def passage_scores(rankings: Sequence[Ranking], *, k: int = RRF_K) -> dict[uuid.UUID, float]:
    """Each passage's own reciprocal-rank-fusion score."""
    scores: dict[uuid.UUID, float] = {}
    for ranking in rankings:
        for place, (_, passage_id) in enumerate(ranking, start=1):
            scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (k + place)
    return scores


def fuse(
    rankings: Sequence[Ranking], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[Fused]:
    """Reciprocal rank fusion of passage rankings, per unit (an article, a family), best first.

    ``weights`` (one per ranking, default 1 each) says how much each ranking's votes count.
    """
    weight = list(weights) if weights is not None else [1.0] * len(rankings)
    unit_ranks: list[dict[Hashable, int]] = []
    for ranking in rankings:
        ranks: dict[Hashable, int] = {}
        for unit, _ in ranking:
            ranks.setdefault(unit, len(ranks) + 1)
        unit_ranks.append(ranks)
    scores = passage_scores(rankings, k=k)
    best: dict[Hashable, uuid.UUID] = {}
    for ranking in rankings:
        for unit, passage_id in ranking:
            if unit not in best or scores[passage_id] > scores[best[unit]]:
                best[unit] = passage_id
    fused = [
        Fused(
            unit,
            passage_id,
            sum(w / (k + ranks[unit]) for w, ranks in zip(weight, unit_ranks, strict=True) if unit in ranks),
            tuple(ranks.get(unit) for ranks in unit_ranks),
        )
        for unit, passage_id in best.items()
    ]
    return sorted(fused, key=lambda f: (-f.score, min(r for r in f.ranks if r is not None)))


@dataclass(frozen=True, slots=True)
class _Article:
    id: uuid.UUID
    slug: str
    title: str
    language: str
    short: str
    family: str


async def _dense(
    index: VectorIndex, query_vector: ArrayLike | None, candidates: int, language: str | None, drafts: bool
) -> list[VectorHit]:
    if query_vector is None or not len(index):
        return []
    if len(index) > _THREAD_ROWS:
        return await asyncio.to_thread(_balanced, index, query_vector, candidates, language, drafts)
    return _balanced(index, query_vector, candidates, language, drafts)


def _balanced(
    index: VectorIndex, query_vector: ArrayLike, candidates: int, language: str | None, drafts: bool
) -> list[VectorHit]:
    """Dense candidates ranked fairly across languages.

    e5 scores a question higher against any passage in its own language than against the right passage
    in another (a Persian question finds Persian articles on other topics before the English one that
    answers it). Each language's cosines are therefore measured against that language's own level (the
    mean of its best ``_LEVEL_OF`` scores) before the languages are merged.
    """
    if language is not None:
        return index.search(query_vector, candidates, where=tag_filter(language, drafts))
    depth = max(candidates, _LEVEL_OF)
    every = index.search(query_vector, depth, where=tag_filter(None, drafts))
    if not every:
        return []
    # A language with too few rows to have a level of its own is measured against everyone's.
    overall = float(np.mean([h.score for h in every[:_LEVEL_OF]]))
    merged: list[tuple[float, VectorHit]] = []
    for each in index.languages():
        hits = index.search(query_vector, depth, where=tag_filter(each, drafts))
        enough = len(hits) >= _LEVEL_OF
        level = float(np.mean([h.score for h in hits[:_LEVEL_OF]])) if enough else overall
        merged += [(h.score - level, h) for h in hits]
    merged.sort(key=lambda pair: pair[0], reverse=True)
    return [hit for _, hit in merged[:candidates]]


async def _articles(
    conn: AsyncConnection, ids: Iterable[uuid.UUID], prefer_language: str | None, drafts: bool
) -> dict[uuid.UUID, _Article]:
    """The candidate articles, with their families' originals and members in ``prefer_language``."""
    family = func.coalesce(_A.c.translation_of, _A.c.slug)
    wanted: ColumnElement[bool] = _A.c.id.in_(list(ids))
    if prefer_language is not None:
        candidate = _A.alias("candidate")  # not correlated with the outer kb_articles
        families = select(func.coalesce(candidate.c.translation_of, candidate.c.slug)).where(
            candidate.c.id.in_(list(ids))
        )
        member = or_(_A.c.language == prefer_language, _A.c.translation_of.is_(None))
        wanted = or_(wanted, family.in_(families) & member)
    statement = select(_A.c.id, _A.c.slug, _A.c.title, _A.c.language, _A.c.short, family).where(wanted)
    if not drafts:
        statement = statement.where(_A.c.status == "published")
    return {row[0]: _Article(*row) for row in (await conn.execute(statement)).all()}


def _choose(
    fused: Fused,
    owner: dict[uuid.UUID, uuid.UUID],
    articles: dict[uuid.UUID, _Article],
    scores: dict[uuid.UUID, float],
    prefer_language: str | None,
) -> tuple[_Article, uuid.UUID | None]:
    """The family's article to show and its cited passage (None: pick by cosine)."""
    article = articles[owner[fused.passage_id]]
    if prefer_language is not None and article.language != prefer_language:
        family = [a for a in articles.values() if a.family == fused.unit]
        # The customer's language first, else the original (the family's root), else the best match.
        preferred = [a for a in family if a.language == prefer_language] or [
            a for a in family if a.slug == a.family
        ]
        if preferred:
            article = preferred[0]
    if article.id == owner[fused.passage_id]:
        return article, fused.passage_id
    own = [p for p, a in owner.items() if a == article.id]
    return article, max(own, key=lambda p: scores[p]) if own else None


async def search(
    conn: AsyncConnection,
    index: VectorIndex,
    query_text: str,
    query_vector: ArrayLike | None,
    *,
    language: str | None = None,
    prefer_language: str | None = None,
    k: int = 5,
    candidates: int = 50,
    include_drafts: bool = False,
) -> list[Hit]:
    """The ``k`` best results for a query, by full text and by embedding (``query_vector`` may be None).

    ``language`` keeps only articles in it; without it every language competes, and ``prefer_language``
    (the customer's) picks which translation of a matching article is shown.
    """
    matches = await fulltext.search_passages(
        conn, query_text, language=language, include_drafts=include_drafts, limit=candidates
    )
    dense = await _dense(index, query_vector, candidates, language, include_drafts)
    pairs = [[(m.article_id, m.passage_id) for m in matches], [(h.owner, h.key) for h in dense]]
    owner = {p: a for ranking in pairs for a, p in ranking}
    if not owner:
        return []
    articles = await _articles(conn, set(owner.values()), prefer_language, include_drafts)
    # Articles unpublished or deleted since the vector index last heard of them drop out here.
    rankings = [[(articles[a].family, p) for a, p in ranking if a in articles] for ranking in pairs]
    scores = passage_scores(rankings)
    fused = fuse(rankings, weights=(FULLTEXT_WEIGHT, DENSE_WEIGHT))
    chosen = [(f, *_choose(f, owner, articles, scores, prefer_language)) for f in fused[:k]]
    cited = {
        article.id: passage_id or _best_passage(index, article.id, query_vector)
        for _, article, passage_id in chosen
    }
    texts = await _passage_texts(conn, cited)
    return [
        _hit(fused, article, texts[article.id], index, query_vector)
        for fused, article, _ in chosen
        if article.id in texts
    ]


def _hit(
    fused: Fused,
    article: _Article,
    passage: tuple[uuid.UUID, str, str],
    index: VectorIndex,
    query_vector: ArrayLike | None,
) -> Hit:
    best = index.best_of(article.id, query_vector) if query_vector is not None else None
    passage_id, heading, text = passage
    return Hit(
        article_id=article.id,
        slug=article.slug,
        title=article.title,
        language=article.language,
        passage_id=passage_id,
        heading=heading,
        passage=text,
        short=article.short,
        score=fused.score,
        dense=None if best is None else best.score,
        fulltext_rank=fused.ranks[0],
        dense_rank=fused.ranks[1],
    )


def _best_passage(
    index: VectorIndex, article_id: uuid.UUID, query_vector: ArrayLike | None
) -> uuid.UUID | None:
    best = index.best_of(article_id, query_vector) if query_vector is not None else None
    return None if best is None else best.key


async def _passage_texts(
    conn: AsyncConnection, cited: dict[uuid.UUID, uuid.UUID | None]
) -> dict[uuid.UUID, tuple[uuid.UUID, str, str]]:
    """article id -> (passage id, heading, text) of its cited passage (its first one when none is cited)."""
    known = [p for p in cited.values() if p is not None]
    unknown = [a for a, p in cited.items() if p is None]
    statement = select(_P.c.article_id, _P.c.id, _P.c.heading, _P.c.text, _P.c.position).where(
        or_(_P.c.id.in_(known), _P.c.article_id.in_(unknown))
    )
    found: dict[uuid.UUID, tuple[uuid.UUID, str, str]] = {}
    for article_id, passage_id, heading, text, _ in sorted(
        (await conn.execute(statement)).all(), key=lambda row: -row.position
    ):
        found[article_id] = (passage_id, heading, text)  # the lowest position wins for an uncited article
    return found
