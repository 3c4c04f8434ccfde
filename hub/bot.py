"""The bot: answers a routine question from the knowledge base, citing the article, when retrieval is
confident enough; otherwise, or when the customer asks for a person, it hands the conversation over."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from crm_core.context import ConversationContext, conversation_context, record_handover
from crm_core.db import Database
from crm_core.outbox import ReplyDraft
from hub.kb import KnowledgeService
from hub.language import guess_language
from hub.messages import BotAnswer, utcnow
from hub.outbox import Outbox
from hub.pipeline import IngestPipeline
from hub.suggest import SMS_SIZED, customer_of, evidence_of
from knowledge.bot import BotDecision, BotPolicy, Evidence
from knowledge.generate import Answer, ChatCompletionsClient, answer_with_fallback
from knowledge.handoff import COUNTER_EXEMPLARS, EXEMPLARS, HandoffDetector, flatten_exemplars
from knowledge.replies import CustomerDetails

__all__ = ["Bot"]

log = logging.getLogger(__name__)

_SOURCE = {"en": "Source", "he": "מקור", "fa": "منبع", "ar": "المصدر"}


class Bot:
    """Decides, for each customer message on a bot channel, whether to answer, hand over or stay quiet."""

    def __init__(
        self,
        db: Database,
        pipeline: IngestPipeline,
        outbox: Outbox,
        kb: KnowledgeService,
        policy: BotPolicy,
        channels: frozenset[str],
        generator: ChatCompletionsClient | None = None,
        *,
        live: frozenset[str] = frozenset(),
    ) -> None:
        self._db = db
        self._pipeline = pipeline
        self._outbox = outbox
        self._kb = kb
        self.policy = policy
        self.channels = channels
        self.live = live
        """Of ``channels``, those that ask :meth:`answer_now` themselves (a call): no outbox replies there."""
        self.generator = generator
        self.handoff = HandoffDetector()

    async def start(self) -> None:
        """Embed the handoff exemplars once, with the shared encoder."""
        models = self._kb.models
        requests = await models.encode(flatten_exemplars(EXEMPLARS))
        counters = await models.encode(flatten_exemplars(COUNTER_EXEMPLARS))
        self.handoff = HandoffDetector(requests, counters)

    async def close(self) -> None:
        if self.generator is not None:
            await self.generator.close()

    async def on_message(
        self, conversation_id: uuid.UUID, interaction_id: uuid.UUID, text: str, vector: NDArray[np.float32]
    ) -> BotDecision | None:
        """Act on one customer message; None when the bot has no say (not its channel, a person has it)."""
        async with self._db.reader.connect() as conn:
            context = await conversation_context(conn, conversation_id)
        if context is None or not self._in_charge(context) or context.last_inbound_id != interaction_id:
            return None
        language = context.contact_language or guess_language(text)
        evidence, decision = await self._decide(text, vector, language, context.bot_turns_since_customer)
        if decision.action == "answer":
            await self._answer(context, interaction_id, text, evidence, decision, language)
        elif decision.action == "handoff":
            record = {**decision.as_record(), "interaction_id": str(interaction_id)}
            async with self._db.writer.begin() as conn:
                events = await record_handover(conn, conversation_id, record, utcnow())
            self._pipeline.notify_committed(events)
            log.info("bot handed conversation %s over: %s", conversation_id, decision.reason)
        return decision

    def _in_charge(self, context: ConversationContext) -> bool:
        return (
            context.channel in self.channels
            and context.channel not in self.live
            # Bounces, auto-replies and list mail are never answered automatically.
            and context.last_inbound_machine is None
            and context.assignee_id is None
            and context.handed_over_at is None
        )

    async def answer_now(
        self, question: str, *, channel: str, language: str | None = None
    ) -> BotAnswer | None:
        """The answer the bot would give to ``question`` on ``channel`` right now, or None to hand over.

        For a caller who waits on the line: nothing is queued or stored here (the channel records the call).
        """
        if channel not in self.channels or not question.strip():
            return None
        vector = (await self._kb.models.encode([question]))[0]
        language = language or guess_language(question)
        evidence, decision = await self._decide(question, vector, language, 0)
        if decision.action != "answer":
            log.info("bot would not answer on %s: %s", channel, decision.reason)
            return None
        # Spoken answers are short: the article's SMS-sized variant when it has one.
        answer, cited = await self._draft(question, evidence, decision, language, customer=None, sms=True)
        return BotAnswer(answer.customer_text, decision.confidence, cited.language, cited.title)

    async def _decide(
        self, text: str, vector: NDArray[np.float32], language: str, bot_turns: int
    ) -> tuple[list[Evidence], BotDecision]:
        """Retrieve for ``text`` and let the policy answer, hand over or stay silent."""
        hits = await self._kb.search_vector(text, vector, prefer_language=language, k=3)
        evidence = [evidence_of(h) for h in hits]
        handoff = self.handoff.detect(text, vector)
        return evidence, self.policy.decide(text, evidence, handoff, bot_turns_since_customer=bot_turns)

    async def _draft(
        self,
        text: str,
        evidence: Sequence[Evidence],
        decision: BotDecision,
        language: str,
        *,
        customer: CustomerDetails | None,
        sms: bool,
    ) -> tuple[Answer, Evidence]:
        """The answer from the article the decision cites (generated, else extractive), and that article."""
        cited = decision.evidence or evidence[0]
        ranked = [cited, *(e for e in evidence if e is not cited)]
        answer = await answer_with_fallback(
            self.generator, text, ranked, language=language, customer=customer, sms=sms
        )
        return answer, cited

    async def _answer(
        self,
        context: ConversationContext,
        interaction_id: uuid.UUID,
        text: str,
        evidence: Sequence[Evidence],
        decision: BotDecision,
        language: str,
    ) -> None:
        answer, cited = await self._draft(
            text,
            evidence,
            decision,
            language,
            customer=customer_of(context),
            sms=context.channel in SMS_SIZED,
        )
        reply = f"{answer.customer_text}\n\n{_SOURCE.get(cited.language, _SOURCE['en'])}: {cited.title}"
        draft = ReplyDraft(text=reply, bot=True, idempotency_key=f"bot:{interaction_id}")
        await self._outbox.queue(context.conversation_id, draft)
