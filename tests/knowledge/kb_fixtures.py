"""Fixtures and helpers of the knowledge-base tests: a migrated knowledge schema and a toy encoder.

A test module takes the fixture with ``kb_engine = kb_fixtures.kb_engine``: it is not in ``conftest.py``,
which belongs to the model tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_core.db import open_database
from knowledge.base import Embeddings, Kind
from knowledge.migrate import upgrade
from knowledge.schema import FTS_TABLE, metadata

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
async def kb_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh CRM database (SQLite, then PostgreSQL) with the knowledge tables, all empty."""
    db = open_database(database_url, sqlite_synchronous="NORMAL")
    await upgrade(db.writer)
    if db.dialect == "postgresql":
        # The PostgreSQL database lives for the whole session and the CRM's fixture empties only its tables.
        tables = ", ".join([t.name for t in metadata.sorted_tables] + [FTS_TABLE])
        async with db.writer.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables}"))
    yield db.writer
    await db.dispose()


class HashEncoder:
    """A toy encoder: each word (lower-cased) adds a fixed pseudo-random direction; rows L2-normalised.

    Texts that share words are near, others are not: enough to test the machinery (indexes, fusion,
    incremental updates), and no test of any model.
    """

    model_id = "hash-encoder"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def word_vector(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def encode(self, texts: Sequence[str], kind: Kind | Sequence[Kind] = "query") -> Embeddings:
        rows = np.zeros((len(texts), self.dim), np.float32)
        for n, value in enumerate(texts):
            for word in re.findall(r"\w+", value.casefold()):
                rows[n] += self.word_vector(word)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        unit: Embeddings = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
        return unit
