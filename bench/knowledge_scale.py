"""The ``--scale`` part of bench/knowledge.py: suggestion latency with 10,000 articles and 100,000 cases.

The synthetic articles and cases are made of sentences from the real knowledge base, shuffled; their
embeddings are random unit vectors, because embedding 40,000 passages and 100,000 cases with the model
would take hours on this CPU and the latency of a search does not depend on what the vectors mean. The
timed path is the hub's own: the customer's message is encoded by the real model, then searched (full text
and dense), the reply drafted, the script and similar cases looked up, and the suggestions recorded.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from crm_core.db import Database
from crm_core.ingest import InboundRecord, record_inbound
from hub.kb import KnowledgeService
from hub.suggest import Suggester
from knowledge import schema
from knowledge.evaluate import percentiles
from knowledge.fulltext import FullTextRow, index_passages
from knowledge.indexing import to_blob

ARTICLES = 10_000
PASSAGES_PER_ARTICLE = 4
CASES = 100_000
QUERIES = 200
BATCH = 1_000


def _sentences(rows: Sequence[Any]) -> list[str]:
    found = [
        s.strip() for row in rows for s in row.body.replace("\n", " ").split(". ") if len(s.strip()) > 20
    ]
    return found or ["Restart the router and wait three minutes."]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.normal(size=(n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


async def _fill_articles(db: Database, sentences: list[str], rng: np.random.Generator, now: datetime) -> None:
    pick = random.Random(7)
    for start in range(0, ARTICLES, BATCH):
        articles, passages, fulltext = [], [], []
        vectors = _unit(rng, BATCH * PASSAGES_PER_ARTICLE)
        for n in range(start, start + BATCH):
            article_id = uuid.uuid4()
            texts = [" ".join(pick.sample(sentences, 3)) for _ in range(PASSAGES_PER_ARTICLE)]
            articles.append(
                {
                    "id": article_id,
                    "slug": f"synthetic-{n}",
                    "language": pick.choice(["en", "he", "fa", "ar"]),
                    "title": texts[0][:80],
                    "body": "\n\n".join(texts),
                    "short": "",
                    "tags": [],
                    "case_types": [],
                    "status": "published",
                    "translation_of": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for position, text in enumerate(texts):
                passage_id = uuid.uuid4()
                vector = vectors[(n - start) * PASSAGES_PER_ARTICLE + position]
                passages.append(
                    {
                        "id": passage_id,
                        "article_id": article_id,
                        "position": position,
                        "heading": "",
                        "text": text,
                        "embedding": to_blob(vector),
                        "model": "synthetic-random",
                    }
                )
                fulltext.append(FullTextRow(passage_id, article_id, text))
        async with db.writer.begin() as conn:
            await conn.execute(schema.articles.insert(), articles)
            await conn.execute(schema.passages.insert(), passages)
            await index_passages(conn, fulltext)


async def _fill_cases(db: Database, sentences: list[str], rng: np.random.Generator, now: datetime) -> None:
    pick = random.Random(11)
    for _ in range(0, CASES, BATCH * 5):
        vectors = _unit(rng, BATCH * 5)
        rows = [
            {
                "id": uuid.uuid4(),
                "conversation_id": uuid.uuid4(),
                "contact_id": None,
                "language": pick.choice(["en", "he", "fa", "ar"]),
                "question": pick.choice(sentences),
                "resolution": pick.choice(sentences),
                "embedding": to_blob(vectors[i]),
                "model": "synthetic-random",
                "resolved_at": now,
            }
            for i in range(BATCH * 5)
        ]
        async with db.writer.begin() as conn:
            await conn.execute(schema.cases.insert(), rows)


async def _conversations(db: Database, texts: Sequence[str], now: datetime) -> list[uuid.UUID]:
    records = [
        InboundRecord(
            channel="api",
            account="bench",
            external_id=f"scale-{n}",
            external_message_id=f"scale-{n}",
            thread_key=f"scale-{n}",
            occurred_at=now,
            source_kind="text",
            text=text,
        )
        for n, text in enumerate(texts)
    ]
    async with db.writer.begin() as conn:
        outcomes, _ = await record_inbound(conn, records, now)
    return [o.conversation_id for o in outcomes]


async def scale(db: Database, kb: KnowledgeService, questions: Sequence[Any]) -> None:
    """Fill to 10k articles and 100k cases, then time the hub's suggestions for real questions."""
    now = datetime.now(UTC)
    rng = np.random.default_rng(5)
    async with db.reader.connect() as conn:
        rows = (await conn.execute(schema.articles.select())).all()
    sentences = _sentences(rows)
    started = time.perf_counter()
    await _fill_articles(db, sentences, rng, now)
    await _fill_cases(db, sentences, rng, now)
    await kb.reload()
    print(
        "\n### Suggestion latency at scale\n\n"
        f"filled {len(kb.articles)} passages of {ARTICLES + len(rows)} articles"
        f" and {len(kb.cases)} cases in {time.perf_counter() - started:.0f} s"
    )
    suggester = Suggester(db, kb)
    texts = [q.text for q in questions][:QUERIES]
    conversations = await _conversations(db, texts, now)
    await suggester.suggest(conversations[0])  # warm: model and caches
    timings = []
    for conversation_id in conversations[1:]:
        started = time.perf_counter()
        await suggester.suggest(conversation_id)
        timings.append((time.perf_counter() - started) * 1000)
    p = percentiles(timings, (50, 99))
    print(
        f"- {len(timings)} suggestions (encode the message, hybrid search, reply, script,"
        " similar cases, record):"
        f" p50 {p[50]:.0f} ms, p99 {p[99]:.0f} ms"
    )
