"""Similar past cases on SQLite and PostgreSQL: recorded, replaced, found by embedding, forgotten."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.cases import CaseRecord, forget_case, load_case_index, record_case, similar_cases
from knowledge.vectors import VectorIndex
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW, HashEncoder

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

ENCODER = HashEncoder()


def _case(question: str, resolution: str, language: str = "en") -> CaseRecord:
    return CaseRecord(uuid.uuid4(), uuid.uuid4(), language, question, resolution, NOW)


async def _record(engine: AsyncEngine, index: VectorIndex, *cases: CaseRecord) -> None:
    async with engine.begin() as conn:
        updates = [await record_case(conn, c, ENCODER.encode([c.question])[0], "hash-encoder") for c in cases]
    for update in updates:  # after the commit, as the hub does
        update.apply(index)


async def test_the_nearest_cases_come_first_with_their_resolution(kb_engine: AsyncEngine) -> None:
    index = VectorIndex()
    router = _case("router light is red since morning", "Restarted the router, the line was fine.")
    bill = _case("charged twice on my bill", "Refunded the double charge.")
    await _record(kb_engine, index, router, bill)
    async with kb_engine.connect() as conn:
        found = await similar_cases(conn, index, ENCODER.encode(["red light on the router"])[0], k=2)
    assert [c.conversation_id for c in found] == [router.conversation_id, bill.conversation_id]
    top = found[0]
    assert (top.question, top.resolution, top.contact_id, top.resolved_at) == (
        router.question,
        router.resolution,
        router.contact_id,
        NOW,
    )
    assert top.model == "hash-encoder" and top.score > found[1].score


async def test_language_filter_exclusion_and_minimum_score(kb_engine: AsyncEngine) -> None:
    index = VectorIndex()
    en = _case("router light is red", "Restarted it.")
    he = _case("router light is red", "הפעלנו מחדש.", language="he")
    await _record(kb_engine, index, en, he)
    query = ENCODER.encode(["router light is red"])[0]
    async with kb_engine.connect() as conn:
        assert [c.language for c in await similar_cases(conn, index, query, language="he")] == ["he"]
        others = await similar_cases(conn, index, query, exclude_conversation=en.conversation_id)
        assert [c.conversation_id for c in others] == [he.conversation_id]
        unrelated = ENCODER.encode(["completely different words"])[0]
        assert await similar_cases(conn, index, unrelated, min_score=0.9) == []


async def test_resolving_a_conversation_again_replaces_its_case(kb_engine: AsyncEngine) -> None:
    index = VectorIndex()
    first = _case("no internet", "Sent a technician.")
    await _record(kb_engine, index, first)
    again = CaseRecord(
        first.conversation_id,
        first.contact_id,
        "en",
        "no internet again",
        "Replaced the router.",
        NOW + timedelta(1),
    )
    await _record(kb_engine, index, again)
    assert len(index) == 1
    async with kb_engine.connect() as conn:
        (found,) = await similar_cases(conn, index, ENCODER.encode(["no internet"])[0], k=5)
    assert found.resolution == "Replaced the router." and found.resolved_at == NOW + timedelta(1)


async def test_the_case_index_loads_from_the_database(kb_engine: AsyncEngine) -> None:
    live = VectorIndex()
    cases = [_case(f"question number {n} about topic {n % 3}", f"answer {n}") for n in range(6)]
    await _record(kb_engine, live, *cases)
    async with kb_engine.connect() as conn:
        loaded = await load_case_index(conn)
        assert len(await load_case_index(conn, model="another")) == 0
    query = ENCODER.encode(["topic 1"])[0]
    assert [h.owner for h in loaded.search(query, 6)] == [h.owner for h in live.search(query, 6)]


async def test_a_forgotten_case_is_gone_from_table_and_index(kb_engine: AsyncEngine) -> None:
    index = VectorIndex()
    case = _case("no internet", "Sent a technician.")
    await _record(kb_engine, index, case)
    async with kb_engine.begin() as conn:
        update = await forget_case(conn, case.conversation_id)
        assert await forget_case(conn, case.conversation_id) is None
    assert update is not None
    update.apply(index)
    assert len(index) == 0
    async with kb_engine.connect() as conn:
        assert await similar_cases(conn, index, ENCODER.encode(["no internet"])[0]) == []
        assert len(await load_case_index(conn)) == 0


@pytest.mark.parametrize("k", [1, 3])
async def test_k_bounds_the_answer(kb_engine: AsyncEngine, k: int) -> None:
    index = VectorIndex()
    await _record(kb_engine, index, *[_case(f"router problem {n}", "fixed") for n in range(4)])
    async with kb_engine.connect() as conn:
        assert len(await similar_cases(conn, index, np.asarray(ENCODER.encode(["router"])[0]), k=k)) == k
