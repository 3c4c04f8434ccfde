"""The suggestion record on SQLite and PostgreSQL: what was suggested, and what the agent did with it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.suggestion_log import SuggestionRecord, record_outcome, record_suggestion, suggestions_for
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

CONVERSATION, MESSAGE, AGENT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ARTICLE = SuggestionRecord(
    conversation_id=CONVERSATION,
    interaction_id=MESSAGE,
    kind="article",
    payload={"slug": "router-restart", "passage": "Unplug the router."},
    model="multilingual-e5-small",
    scores={"score": 0.0325, "dense": 0.86},
)


async def test_a_suggestion_is_recorded_with_model_and_scores(kb_engine: AsyncEngine) -> None:
    reply = SuggestionRecord(
        CONVERSATION, "reply", {"text": "Hi Dana, unplug it."}, None, interaction_id=MESSAGE
    )
    async with kb_engine.begin() as conn:
        first = await record_suggestion(conn, ARTICLE, now=NOW)
        second = await record_suggestion(conn, reply, now=NOW + timedelta(seconds=1))
        other = SuggestionRecord(uuid.uuid4(), "case", {}, "m")
        await record_suggestion(conn, other, now=NOW)
    async with kb_engine.connect() as conn:
        found = await suggestions_for(conn, CONVERSATION)
        only_message = await suggestions_for(conn, CONVERSATION, interaction_id=uuid.uuid4())
    assert [s.id for s in found] == [second, first]  # newest first
    assert found[1].record == ARTICLE and found[1].created_at == NOW
    assert (found[1].outcome, found[1].outcome_at, found[1].agent_id) == (None, None, None)
    assert only_message == []


async def test_the_agents_first_outcome_is_kept(kb_engine: AsyncEngine) -> None:
    later = NOW + timedelta(minutes=1)
    async with kb_engine.begin() as conn:
        suggestion = await record_suggestion(conn, ARTICLE, now=NOW)
        assert await record_outcome(conn, suggestion, "edited", agent_id=AGENT, now=later) is True
        assert await record_outcome(conn, suggestion, "dismissed", agent_id=None, now=later) is False
        assert await record_outcome(conn, uuid.uuid4(), "sent_as_is", agent_id=AGENT, now=later) is False
    async with kb_engine.connect() as conn:
        (stored,) = await suggestions_for(conn, CONVERSATION)
    assert (stored.outcome, stored.outcome_at, stored.agent_id) == ("edited", later, AGENT)


async def test_unknown_kinds_and_outcomes_are_refused(kb_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="kind"):
        SuggestionRecord(CONVERSATION, "poem", {}, None)  # type: ignore[arg-type]
    async with kb_engine.begin() as conn:
        suggestion = await record_suggestion(conn, ARTICLE, now=NOW)
        with pytest.raises(ValueError, match="outcome"):
            await record_outcome(conn, suggestion, "loved", agent_id=None, now=NOW)  # type: ignore[arg-type]
