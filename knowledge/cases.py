"""Similar past cases: resolved conversations (what was asked, how it was solved) found by embedding.

One case per conversation; resolving it again replaces the case. The hub embeds the question (the same
``query`` embedding it made for the customer's message), records the case, and after the commit applies
the returned update to its in-memory case index (owner and key: the case id; tag: its language).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema
from .indexing import to_blob
from .vectors import VectorIndex

__all__ = [
    "CaseRecord",
    "CaseUpdate",
    "SimilarCase",
    "forget_case",
    "load_case_index",
    "record_case",
    "similar_cases",
]

_C = schema.cases


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A resolved conversation: the customer's question and the resolution, in the conversation's language."""

    conversation_id: uuid.UUID
    contact_id: uuid.UUID | None
    language: str
    question: str
    resolution: str
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class CaseUpdate:
    """What the case index must do once the transaction has committed."""

    case_id: uuid.UUID
    created: bool
    tag: str
    vector: NDArray[np.float32] | None = field(default=None, compare=False)  # None: remove the case

    def apply(self, index: VectorIndex) -> None:
        """Bring ``index`` up to date for this case."""
        if self.vector is None:
            index.remove(self.case_id)
        else:
            index.replace(self.case_id, [self.case_id], self.vector, self.tag)


@dataclass(frozen=True, slots=True)
class SimilarCase:
    """A past case like the current question, with its cosine to it and the model that embedded it."""

    case_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID | None
    language: str
    question: str
    resolution: str
    resolved_at: datetime
    score: float
    model: str


async def record_case(
    conn: AsyncConnection, case: CaseRecord, embedding: ArrayLike, model: str
) -> CaseUpdate:
    """Store (or replace) the case of ``case.conversation_id`` with the question's embedding."""
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    values = {
        "contact_id": case.contact_id,
        "language": case.language,
        "question": case.question,
        "resolution": case.resolution,
        "embedding": to_blob(vector),
        "model": model,
        "resolved_at": case.resolved_at,
    }
    found = (
        await conn.execute(
            select(_C.c.id).where(_C.c.conversation_id == case.conversation_id).with_for_update()
        )
    ).scalar()
    if found is None:
        case_id = schema.new_id()
        await conn.execute(_C.insert().values(id=case_id, conversation_id=case.conversation_id, **values))
        return CaseUpdate(case_id, True, case.language, vector)
    await conn.execute(_C.update().where(_C.c.id == found).values(**values))
    return CaseUpdate(found, False, case.language, vector)


async def forget_case(conn: AsyncConnection, conversation_id: uuid.UUID) -> CaseUpdate | None:
    """Delete the case of a conversation (a customer's data erased, say); None when there was none."""
    found = (
        await conn.execute(select(_C.c.id, _C.c.language).where(_C.c.conversation_id == conversation_id))
    ).first()
    if found is None:
        return None
    await conn.execute(delete(_C).where(_C.c.id == found.id))
    return CaseUpdate(found.id, False, found.language, None)


async def load_case_index(conn: AsyncConnection, *, model: str | None = None) -> VectorIndex:
    """The case index of every stored case (of ``model`` only, when given), built in one query."""
    statement = select(_C.c.id, _C.c.embedding, _C.c.language)
    if model is not None:
        statement = statement.where(_C.c.model == model)
    rows = (await conn.execute(statement)).all()
    if not rows:
        return VectorIndex()
    matrix = np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").reshape(len(rows), -1)
    ids = [r.id for r in rows]
    return VectorIndex.from_rows(ids, ids, matrix, [r.language for r in rows])


async def similar_cases(
    conn: AsyncConnection,
    index: VectorIndex,
    vector: ArrayLike,
    k: int = 3,
    *,
    language: str | None = None,
    exclude_conversation: uuid.UUID | None = None,
    min_score: float = -1.0,
) -> list[SimilarCase]:
    """The ``k`` past cases most like ``vector`` (best first), in ``language`` only when given."""
    where = None if language is None else (lambda tag: tag == language)
    hits = [h for h in index.search(vector, k + 1, where=where) if h.score >= min_score]
    if not hits:
        return []
    rows = (await conn.execute(select(_C).where(_C.c.id.in_([h.owner for h in hits])))).mappings().all()
    by_id = {row["id"]: row for row in rows}
    found: list[SimilarCase] = []
    for hit in hits:
        row = by_id.get(hit.owner)
        if row is None or row["conversation_id"] == exclude_conversation:
            continue
        found.append(
            SimilarCase(
                case_id=row["id"],
                conversation_id=row["conversation_id"],
                contact_id=row["contact_id"],
                language=row["language"],
                question=row["question"],
                resolution=row["resolution"],
                resolved_at=row["resolved_at"],
                score=hit.score,
                model=row["model"],
            )
        )
    return found[:k]
