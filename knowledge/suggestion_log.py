"""The record of suggestions shown to agents: what was suggested, by which model, with which scores, and
what the agent did with it (sent as is, edited, dismissed)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import schema

__all__ = [
    "Outcome",
    "StoredSuggestion",
    "SuggestionKind",
    "SuggestionRecord",
    "record_outcome",
    "record_suggestion",
    "suggestions_for",
]

SuggestionKind = Literal["article", "reply", "script", "case"]
Outcome = Literal["sent_as_is", "edited", "dismissed"]
_S = schema.suggestions


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """A suggestion as made: for which conversation (and message), what, by which model, with what scores."""

    conversation_id: uuid.UUID
    kind: SuggestionKind
    payload: Mapping[str, Any]
    model: str | None
    scores: Mapping[str, float] = field(default_factory=dict)
    interaction_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.kind not in get_args(SuggestionKind):
            raise ValueError(f"suggestion kind must be one of {get_args(SuggestionKind)}, not {self.kind!r}")


@dataclass(frozen=True, slots=True)
class StoredSuggestion:
    """A recorded suggestion and, once the agent acted, its outcome."""

    id: uuid.UUID
    record: SuggestionRecord
    created_at: datetime
    outcome: Outcome | None
    outcome_at: datetime | None
    agent_id: uuid.UUID | None


async def record_suggestion(conn: AsyncConnection, record: SuggestionRecord, *, now: datetime) -> uuid.UUID:
    """Store a suggestion; its id."""
    suggestion_id = schema.new_id()
    await conn.execute(
        _S.insert().values(
            id=suggestion_id,
            conversation_id=record.conversation_id,
            interaction_id=record.interaction_id,
            kind=record.kind,
            payload=dict(record.payload),
            model=record.model,
            scores=dict(record.scores),
            created_at=now,
        )
    )
    return suggestion_id


async def record_outcome(
    conn: AsyncConnection,
    suggestion_id: uuid.UUID,
    outcome: Outcome,
    *,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> bool:
    """Store what the agent did with a suggestion; False when it is unknown or already has an outcome."""
    if outcome not in get_args(Outcome):
        raise ValueError(f"outcome must be one of {get_args(Outcome)}, not {outcome!r}")
    # The first outcome stands: a late "dismissed" from a second console tab must not overwrite "sent".
    result = await conn.execute(
        _S.update()
        .where(_S.c.id == suggestion_id, _S.c.outcome.is_(None))
        .values(outcome=outcome, outcome_at=now, agent_id=agent_id)
    )
    return bool(result.rowcount)


async def suggestions_for(
    conn: AsyncConnection,
    conversation_id: uuid.UUID,
    *,
    interaction_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[StoredSuggestion]:
    """A conversation's suggestions (for one message, when given), newest first."""
    statement = (
        select(_S)
        .where(_S.c.conversation_id == conversation_id)
        .order_by(_S.c.created_at.desc(), _S.c.id.desc())
    )
    if interaction_id is not None:
        statement = statement.where(_S.c.interaction_id == interaction_id)
    return [
        StoredSuggestion(
            id=row["id"],
            record=SuggestionRecord(
                conversation_id=row["conversation_id"],
                kind=row["kind"],
                payload=row["payload"],
                model=row["model"],
                scores=row["scores"],
                interaction_id=row["interaction_id"],
            ),
            created_at=row["created_at"],
            outcome=row["outcome"],
            outcome_at=row["outcome_at"],
            agent_id=row["agent_id"],
        )
        for row in (await conn.execute(statement.limit(limit))).mappings()
    ]
