"""Sentiment of customers' messages: one score per message, a trend per conversation, flags when it sinks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.events import EventDraft, StoredEvent, add_events
from crm_core.models import Conversation, Direction, Interaction, InteractionKind
from crm_core.models_messaging import InteractionSentiment

__all__ = ["AlertRule", "ScoreTarget", "Scored", "store_sentiments", "texts_to_score"]

FLAGGED_PRIORITY = 2
"""The priority a flagged conversation is raised to (at least)."""


@dataclass(frozen=True, slots=True)
class ScoreTarget:
    """A customer's message (or call transcript) still to be scored."""

    interaction_id: uuid.UUID
    conversation_id: uuid.UUID
    text: str


@dataclass(frozen=True, slots=True)
class Scored:
    target: ScoreTarget
    label: str
    score: float
    model: str


@dataclass(frozen=True, slots=True)
class AlertRule:
    """When a conversation is flagged: its trend below ``threshold``, or one message ``drop`` below it."""

    threshold: float = -0.5
    drop: float = 0.8
    alpha: float = 0.5
    """Weight of the newest message in the trend (exponential moving average)."""


async def texts_to_score(conn: AsyncConnection, interaction_ids: Sequence[uuid.UUID]) -> list[ScoreTarget]:
    """Of these interactions, the customers' messages and call transcripts with text, not yet scored."""
    inter, scored = table(Interaction), table(InteractionSentiment)
    rows = await conn.execute(
        select(inter.c.id, inter.c.conversation_id, inter.c.text)
        .where(
            inter.c.id.in_(interaction_ids),
            inter.c.direction == Direction.IN.value,
            inter.c.kind.in_([InteractionKind.MESSAGE.value, InteractionKind.CALL.value]),
            inter.c.text.is_not(None),
            inter.c.id.not_in(
                select(scored.c.interaction_id).where(scored.c.interaction_id.in_(interaction_ids))
            ),
        )
        .order_by(inter.c.occurred_at, inter.c.id)
    )
    return [ScoreTarget(row.id, row.conversation_id, row.text) for row in rows if row.text.strip()]


async def store_sentiments(
    conn: AsyncConnection, results: Sequence[Scored], rule: AlertRule, now: datetime
) -> list[StoredEvent]:
    """Keep the scores, move each conversation's trend, flag and raise the priority of sinking ones."""
    if not results:
        return []
    await conn.execute(
        insert(table(InteractionSentiment)),
        [
            {
                "interaction_id": r.target.interaction_id,
                "conversation_id": r.target.conversation_id,
                "label": r.label,
                "score": r.score,
                "model": r.model,
                "scored_at": now,
            }
            for r in results
        ],
    )
    drafts: list[EventDraft] = []
    by_conversation: dict[uuid.UUID, list[Scored]] = {}
    for result in results:
        by_conversation.setdefault(result.target.conversation_id, []).append(result)
    for conversation_id, scored in by_conversation.items():
        drafts += await _move_trend(conn, conversation_id, scored, rule, now)
    return await add_events(conn, drafts, now)


async def _move_trend(
    conn: AsyncConnection, conversation_id: uuid.UUID, scored: list[Scored], rule: AlertRule, now: datetime
) -> list[EventDraft]:
    convs = table(Conversation)
    row = (
        await conn.execute(
            select(convs.c.sentiment, convs.c.flagged_at, convs.c.priority).where(
                convs.c.id == conversation_id
            )
        )
    ).one()
    trend, reason = row.sentiment, None
    for result in scored:
        previous = trend
        trend = result.score if previous is None else rule.alpha * result.score + (1 - rule.alpha) * previous
        if previous is not None and previous - result.score >= rule.drop:
            reason = f"sharp drop: {previous:+.2f} to {result.score:+.2f}"
        elif trend < rule.threshold:
            reason = f"sentiment {trend:+.2f} below {rule.threshold:+.2f}"
    values: dict[str, object] = {"sentiment": trend, "sentiment_last": scored[-1].score}
    ids = {"conversation_id": str(conversation_id)}
    drafts = [EventDraft("conversation.sentiment_updated", ids)]
    if reason is not None and row.flagged_at is None:
        values |= {"flagged_at": now, "flag_reason": reason, "priority": max(row.priority, FLAGGED_PRIORITY)}
        drafts.append(
            EventDraft("sentiment.alert", {**ids, "interaction_id": str(scored[-1].target.interaction_id)})
        )
    await conn.execute(update(convs).where(convs.c.id == conversation_id).values(**values))
    return drafts
