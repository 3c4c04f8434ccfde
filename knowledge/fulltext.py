"""Full-text search over passages: FTS5 on SQLite, tsvector with GIN (the 'simple' config) on PostgreSQL.

Neither database knows Hebrew, Persian or Arabic, so the words are normalised here, the same way for
both: case folded, marks (niqqud, harakat) and tatweel removed, Arabic and Persian letter forms unified,
and light prefix/suffix variants added (Hebrew ו/ה/ב/ל/מ/ש/כ, Arabic ال, English plurals and -ing/-ed).
The index holds those terms; a query is its terms OR-ed, ranked by bm25 (SQLite) or by the summed inverse
document frequency of the terms a passage holds (PostgreSQL's ts_rank ignores how rare a word is).
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Uuid,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from ._stopwords import STOPWORDS as _RAW_STOPWORDS

__all__ = [
    "FullTextMatch",
    "FullTextRow",
    "index_passages",
    "index_terms",
    "normalize",
    "query_terms",
    "remove_articles",
    "search_passages",
]

MAX_QUERY_TERMS = 40

_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ئ": "ي",
        "ک": "ك",
        "ؤ": "و",
        "ة": "ه",
        "ۀ": "ه",
        "ـ": None,  # tatweel stretches a word, it is not a letter
        "'": None,  # צ'אט, don't: one word each
        "’": None,
        "׳": None,
        "״": None,
        '"': None,  # ת"ז is one word
    }
)
_WORD = re.compile(r"[^\W_]+")
_HEBREW = re.compile(r"[\u05d0-\u05ea]")
_ARABIC = re.compile(r"[\u0620-\u06ff]")
_HEBREW_PREFIXES = frozenset("והבלמשכ")
_ARABIC_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
# Only "and": ب and ل are Arabic prefixes too, but would cut Persian words like بسته.
_ARABIC_PREFIXES = frozenset("و")


def normalize(text: str) -> str:
    """``text`` folded for matching: NFKC, case folded, combining marks and quote marks inside words gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped).translate(_FOLD)


def _hebrew_variants(word: str) -> list[str]:
    out = []
    if len(word) - 1 >= 3 and word[0] in _HEBREW_PREFIXES:
        out.append(word[1:])
        if len(word) - 2 >= 3 and word[1] in _HEBREW_PREFIXES:
            out.append(word[2:])
    return out


def _arabic_variants(word: str) -> list[str]:
    out = []
    for article in _ARABIC_ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            out.append(word[len(article) :])
            break
    if not out and len(word) - 1 >= 3 and word[0] in _ARABIC_PREFIXES:
        out.append(word[1:])
    for suffix in ("هاي", "ها"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: -len(suffix)])
            break
    return out


def _english_variants(word: str) -> list[str]:
    if not word.isascii() or not word.isalpha() or len(word) <= 3:
        return []
    stem = word
    if word.endswith("ies") and len(word) > 4:
        stem = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes")):
        stem = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        stem = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        stem = word[:-2]
    if stem != word and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiousl":
        stem = stem[:-1]  # stopped -> stop (but keep "cancell" -> cancel below)
    if stem.endswith("ll") and stem != word:
        stem = stem[:-1]  # cancelling/cancelled -> cancel
    return [stem] if stem != word else []


def _variants(word: str) -> list[str]:
    if _HEBREW.search(word):
        return _hebrew_variants(word)
    if _ARABIC.search(word):
        return _arabic_variants(word)
    return _english_variants(word)


STOPWORDS: frozenset[str] = frozenset(normalize(word) for word in _RAW_STOPWORDS)


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def index_terms(text: str) -> list[str]:
    """The terms a passage is indexed under: its words and their variants."""
    terms: list[str] = []
    for word in _words(text):
        terms.append(word)
        terms.extend(_variants(word))
    return terms


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query (stop words dropped, variants added), at most ``MAX_QUERY_TERMS``."""
    terms: dict[str, None] = {}
    for word in _words(text):
        if word in STOPWORDS:
            continue
        terms[word] = None
        for variant in _variants(word):
            if variant not in STOPWORDS:
                terms[variant] = None
    return list(terms)[:MAX_QUERY_TERMS]


@dataclass(frozen=True, slots=True)
class FullTextRow:
    """A passage as the full-text index holds it."""

    passage_id: uuid.UUID
    article_id: uuid.UUID
    text: str


@dataclass(frozen=True, slots=True)
class FullTextMatch:
    """A passage that matched, with its score (higher is better; comparable within one search only)."""

    passage_id: uuid.UUID
    article_id: uuid.UUID
    score: float


_PG = table(
    schema.FTS_TABLE,
    column("passage_id", Uuid()),
    column("article_id", Uuid()),
    column("document"),
)


# The table name is our constant, not input: the values are bound parameters.
_SQLITE_INSERT = (
    f"INSERT INTO {schema.FTS_TABLE} (terms, passage_id, article_id) "  # noqa: S608
    "VALUES (:terms, :passage_id, :article_id)"
)
_SQLITE_DELETE = f"DELETE FROM {schema.FTS_TABLE} WHERE article_id = :article_id"  # noqa: S608


def _simple() -> Any:
    return literal_column("'simple'::regconfig")


async def index_passages(conn: AsyncConnection, rows: Sequence[FullTextRow]) -> None:
    """Add ``rows`` to the full-text index (remove their article's old rows first)."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    # On SQLite the ids go in as the Uuid type stores them there (32 hex digits), to join with kb_passages.
    values = [
        {
            "passage_id": r.passage_id.hex if sqlite else r.passage_id,
            "article_id": r.article_id.hex if sqlite else r.article_id,
            "terms": " ".join(index_terms(r.text)),
        }
        for r in rows
    ]
    if sqlite:
        await conn.execute(text(_SQLITE_INSERT), values)
        return
    document = func.to_tsvector(_simple(), bindparam("terms"))
    await conn.execute(
        _PG.insert().values(
            passage_id=bindparam("passage_id"), article_id=bindparam("article_id"), document=document
        ),
        values,
    )


async def remove_articles(conn: AsyncConnection, article_ids: Iterable[uuid.UUID]) -> None:
    """Remove every indexed passage of ``article_ids``."""
    ids = list(article_ids)
    if not ids:
        return
    if conn.dialect.name == "sqlite":
        await conn.execute(
            text(_SQLITE_DELETE),
            [{"article_id": i.hex} for i in ids],
        )
        return
    await conn.execute(_PG.delete().where(_PG.c.article_id.in_(ids)))


def _article_filter(language: str | None, include_drafts: bool) -> list[Any]:
    filters: list[Any] = []
    if not include_drafts:
        filters.append(schema.articles.c.status == "published")
    if language is not None:
        filters.append(schema.articles.c.language == language)
    return filters


async def search_passages(
    conn: AsyncConnection,
    query: str,
    *,
    language: str | None = None,
    include_drafts: bool = False,
    limit: int = 50,
) -> list[FullTextMatch]:
    """Passages holding any of the query's terms, best first (published articles only unless asked)."""
    terms = query_terms(query)
    if not terms or limit < 1:
        return []
    if conn.dialect.name == "sqlite":
        return await _search_sqlite(conn, terms, _article_filter(language, include_drafts), limit)
    return await _search_postgres(conn, terms, _article_filter(language, include_drafts), limit)


async def _search_sqlite(
    conn: AsyncConnection, terms: list[str], filters: list[Any], limit: int
) -> list[FullTextMatch]:
    fts = table(schema.FTS_TABLE, column("passage_id"), column("article_id"))
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    # bm25 is lower for better matches; its negation makes "higher is better" as on PostgreSQL.
    rank = literal_column(f"bm25({schema.FTS_TABLE})", Float)
    statement = (
        select(fts.c.passage_id, fts.c.article_id, rank)
        .join(schema.articles, schema.articles.c.id == fts.c.article_id)
        .where(literal_column(schema.FTS_TABLE, Boolean).op("MATCH")(match), *filters)
        .order_by(rank)
        .limit(limit)
    )
    rows = (await conn.execute(statement)).all()
    return [FullTextMatch(uuid.UUID(hex=p), uuid.UUID(hex=a), -float(s)) for p, a, s in rows]


def _tsquery(terms: Sequence[str]) -> Any:
    quoted = " | ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in terms)
    return func.to_tsquery(_simple(), quoted)


def _matches(tsquery: Any) -> Any:
    return _PG.c.document.op("@@", return_type=Boolean)(tsquery)


async def _search_postgres(
    conn: AsyncConnection, terms: list[str], filters: list[Any], limit: int
) -> list[FullTextMatch]:
    counts = [
        select(func.count()).select_from(_PG).where(_matches(_tsquery([t]))).scalar_subquery() for t in terms
    ]
    total = select(func.count()).select_from(_PG).scalar_subquery()
    row = (await conn.execute(select(total, *counts))).one()
    passages, frequencies = int(row[0]), [int(n) for n in row[1:]]
    # Okapi's idf: a term in every passage weighs next to nothing, a rare one a lot.
    weights = [math.log(1 + (passages - n + 0.5) / (n + 0.5)) for n in frequencies]
    score = sum(
        (case((_matches(_tsquery([t])), w), else_=0.0) for t, w in zip(terms, weights, strict=True)),
        start=func.ts_rank(_PG.c.document, _tsquery(terms)) * 1e-3,  # breaks ties by how often
    ).label("score")
    statement = (
        select(_PG.c.passage_id, _PG.c.article_id, score)
        .join(schema.articles, schema.articles.c.id == _PG.c.article_id)
        .where(_matches(_tsquery(terms)), *filters)
        .order_by(score.desc())
        .limit(limit)
    )
    return [FullTextMatch(p, a, float(s)) for p, a, s in (await conn.execute(statement)).all()]
