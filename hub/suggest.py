"""Suggestions beside a conversation: articles with the cited passage, a drafted reply, the call script
for the case type, and similar past cases; each recorded with the model and scores that produced it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_core.context import ConversationContext, conversation_context
from crm_core.db import Database
from hub.kb import KnowledgeService
from hub.language import guess_language
from hub.messages import utcnow
from knowledge.articles import get_article
from knowledge.bot import Evidence
from knowledge.call_scripts import script_for
from knowledge.cases import similar_cases
from knowledge.drafts import steps_to_json
from knowledge.generate import ChatCompletionsClient, answer_with_fallback
from knowledge.replies import CustomerDetails
from knowledge.retrieval import Hit
from knowledge.suggestion_log import StoredSuggestion, SuggestionRecord, record_suggestion, suggestions_for

__all__ = ["SMS_SIZED", "Suggester", "evidence_of", "payload_of"]

log = logging.getLogger(__name__)

SMS_SIZED = frozenset({"twilio_sms"})
"""Channels whose replies should be SMS-sized (the article's short variant)."""


def evidence_of(hit: Hit) -> Evidence:
    """A retrieval hit as the bot and the reply drafter see it."""
    return Evidence(
        hit.slug, hit.title, hit.language, hit.passage, hit.score, hit.dense or 0.0, hit.short or None
    )


def customer_of(context: ConversationContext) -> CustomerDetails:
    """What a reply may say about the customer, from the CRM."""
    return CustomerDetails(
        name=context.contact_name, product=context.product, agreement_end=context.agreement_end
    )


class Suggester:
    """Computes, records and reads back suggestions for a conversation's latest customer message."""

    def __init__(
        self, db: Database, kb: KnowledgeService, generator: ChatCompletionsClient | None = None
    ) -> None:
        self._db = db
        self._kb = kb
        self.generator = generator
        # One computation per conversation at a time in this process: the worker and an agent's request
        # for the same message then share one set of suggestions instead of recording two.
        self._busy: dict[uuid.UUID, asyncio.Lock] = {}

    async def suggest(
        self, conversation_id: uuid.UUID, vector: NDArray[np.float32] | None = None
    ) -> dict[str, Any] | None:
        """Suggestions for the latest customer message (None when the conversation has none)."""
        lock = self._busy.setdefault(conversation_id, asyncio.Lock())
        try:
            async with lock:
                return await self._suggest(conversation_id, vector)
        finally:
            if not lock.locked() and self._busy.get(conversation_id) is lock:
                del self._busy[conversation_id]

    async def _suggest(
        self, conversation_id: uuid.UUID, vector: NDArray[np.float32] | None
    ) -> dict[str, Any] | None:
        async with self._db.reader.connect() as conn:
            context = await conversation_context(conn, conversation_id)
        if context is None or not context.last_inbound_text or context.last_inbound_id is None:
            return None
        async with self._db.reader.connect() as conn:
            already = await suggestions_for(conn, conversation_id, interaction_id=context.last_inbound_id)
        if already:
            # Made once per message: by the worker, or by an agent's request that came first.
            return payload_of(context.last_inbound_id, list(reversed(already)))
        text = context.last_inbound_text
        if vector is None:
            vector = (await self._kb.models.encode([text], "query"))[0]
        language = context.contact_language or guess_language(text)
        hits = await self._kb.search_vector(text, vector, prefer_language=language, k=3)
        model = await self._kb.models.model_id()
        records = [_article_record(context, hit, model) for hit in hits]
        if hits:
            records.append(await self._reply_record(context, text, hits, language, model))
        async with self._db.reader.connect() as conn:
            script = await self._script_record(conn, context, hits, language)
            cases = await similar_cases(
                conn, self._kb.cases, vector, 3, exclude_conversation=conversation_id, min_score=0.80
            )
        records += [r for r in [script] if r is not None]
        records += [_case_record(context, case) for case in cases]
        async with self._db.writer.begin() as conn:
            now = utcnow()
            ids = [await record_suggestion(conn, record, now=now) for record in records]
        return payload_of(
            context.last_inbound_id,
            [StoredSuggestion(i, r, now, None, None, None) for i, r in zip(ids, records, strict=True)],
        )

    async def _reply_record(
        self, context: ConversationContext, text: str, hits: Sequence[Hit], language: str, model: str
    ) -> SuggestionRecord:
        evidence = [evidence_of(h) for h in hits]
        answer = await answer_with_fallback(
            self.generator,
            text,
            evidence,
            language=language,
            customer=customer_of(context),
            sms=context.channel in SMS_SIZED,
        )
        payload = {
            "text": answer.customer_text,
            "cited": list(answer.cited),
            "path": answer.path,
            "language": language,
            "filled": dict(answer.draft.filled) if answer.draft else {},
        }
        return SuggestionRecord(
            conversation_id=context.conversation_id,
            kind="reply",
            payload=payload,
            model=answer.model or model,
            scores={"dense": evidence[0].dense, "score": evidence[0].score},
            interaction_id=context.last_inbound_id,
        )

    async def _script_record(
        self, conn: Any, context: ConversationContext, hits: Sequence[Hit], language: str
    ) -> SuggestionRecord | None:
        case_type = context.case_type
        if case_type is None and hits:
            article = await get_article(conn, hits[0].article_id)
            case_type = article.case_types[0] if article is not None and article.case_types else None
        if case_type is None:
            return None
        script = await script_for(conn, case_type, language)
        if script is None:
            return None
        payload = {
            "slug": script.slug,
            "title": script.title,
            "case_type": script.case_type,
            "language": script.language,
            "steps": steps_to_json(script.steps),
            "notes": script.notes,
        }
        return SuggestionRecord(
            context.conversation_id, "script", payload, None, {}, interaction_id=context.last_inbound_id
        )

    async def stored(self, conversation_id: uuid.UUID) -> dict[str, Any] | None:
        """The suggestions last recorded for the conversation's latest suggested-for message."""
        async with self._db.reader.connect() as conn:
            found = await suggestions_for(conn, conversation_id, limit=50)
        if not found:
            return None
        latest = found[0].record.interaction_id
        mine = [s for s in found if s.record.interaction_id == latest]
        return payload_of(latest, list(reversed(mine)))


def _article_record(context: ConversationContext, hit: Hit, model: str) -> SuggestionRecord:
    payload = {
        "slug": hit.slug,
        "title": hit.title,
        "language": hit.language,
        "heading": hit.heading,
        "passage": hit.passage,
    }
    scores = {"score": hit.score, "dense": hit.dense if hit.dense is not None else float("nan")}
    if hit.fulltext_rank is not None:
        scores["fulltext_rank"] = float(hit.fulltext_rank)
    if hit.dense_rank is not None:
        scores["dense_rank"] = float(hit.dense_rank)
    scores = {k: v for k, v in scores.items() if v == v}  # no NaN in JSON
    return SuggestionRecord(
        context.conversation_id, "article", payload, model, scores, interaction_id=context.last_inbound_id
    )


def _case_record(context: ConversationContext, case: Any) -> SuggestionRecord:
    payload = {
        "conversation_id": str(case.conversation_id),
        "question": case.question,
        "resolution": case.resolution,
        "language": case.language,
        "resolved_at": case.resolved_at.isoformat(),
    }
    return SuggestionRecord(
        context.conversation_id,
        "case",
        payload,
        case.model,
        {"score": case.score},
        interaction_id=context.last_inbound_id,
    )


def payload_of(interaction_id: uuid.UUID | None, stored: Sequence[StoredSuggestion]) -> dict[str, Any]:
    """The suggestions as the API and the console show them."""

    def item(s: StoredSuggestion) -> dict[str, Any]:
        return {
            "suggestion_id": str(s.id),
            **dict(s.record.payload),
            "model": s.record.model,
            "scores": dict(s.record.scores),
            "outcome": s.outcome,
        }

    by_kind: dict[str, list[dict[str, Any]]] = {"article": [], "reply": [], "script": [], "case": []}
    for s in stored:
        by_kind[s.record.kind].append(item(s))
    return {
        "interaction_id": None if interaction_id is None else str(interaction_id),
        "articles": by_kind["article"],
        "reply": by_kind["reply"][0] if by_kind["reply"] else None,
        "script": by_kind["script"][0] if by_kind["script"] else None,
        "cases": by_kind["case"],
    }
