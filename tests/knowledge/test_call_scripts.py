"""The call-script store on SQLite and PostgreSQL: upsert by slug, history, and the script for a case."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.call_scripts import get_script, list_scripts, script_for, script_versions, upsert_script
from knowledge.drafts import ScriptBranch, ScriptDraft, ScriptStep, steps_from_json, steps_to_json
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

STEPS = (
    ScriptStep("greet", "Hello {customer_name}."),
    ScriptStep(
        "verify",
        "Please confirm your ID number.",
        check="identity_verified",
        branches=(ScriptBranch("caller is the holder", "close"), ScriptBranch("someone else", "refuse")),
    ),
    ScriptStep("refuse", "Only the holder can cancel.", goto="close"),
    ScriptStep("close", "Anything else?"),
)
SCRIPT = ScriptDraft(
    "script-cancellation", "cancellation", "en", "Cancellation", STEPS, notes="Never refuse."
)


def test_steps_round_trip_through_json() -> None:
    data = steps_to_json(STEPS)
    assert data[0] == {"id": "greet", "say": "Hello {customer_name}."}
    assert data[2] == {"id": "refuse", "say": "Only the holder can cancel.", "goto": "close"}
    assert steps_from_json(data) == STEPS


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ((), "at least one step"),
        ((ScriptStep("a", "x"), ScriptStep("a", "y")), "repeat"),
        ((ScriptStep("a", "x", goto="b"),), "unknown steps"),
        ((ScriptStep("a", "x", branches=(ScriptBranch("w", "nowhere"),)),), "unknown steps"),
        ((ScriptStep("a", " "),), "what to say"),
    ],
)
def test_bad_steps_are_refused(steps: tuple[ScriptStep, ...], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        dataclasses.replace(SCRIPT, steps=steps)


async def test_upsert_creates_updates_in_place_and_skips_the_unchanged(kb_engine: AsyncEngine) -> None:
    later = NOW + timedelta(days=1)
    edited = dataclasses.replace(SCRIPT, steps=STEPS[:1] + STEPS[3:])
    async with kb_engine.begin() as conn:
        created = await upsert_script(conn, SCRIPT, editor="dana", now=NOW)
        unchanged = await upsert_script(conn, SCRIPT, editor="dana", now=later)
        updated = await upsert_script(conn, edited, editor="omer", now=later)
    assert (created.change, unchanged.change, updated.change) == ("created", "unchanged", "updated")
    assert updated.script.id == created.script.id
    assert (updated.script.version, updated.script.updated_at) == (2, later)
    assert updated.previous == created.script
    async with kb_engine.connect() as conn:
        assert await get_script(conn, "script-cancellation") == updated.script
        assert await get_script(conn, created.script.id) == updated.script
        versions = await script_versions(conn, created.script.id)
    assert [(v.version, v.editor, v.draft) for v in versions] == [(1, "dana", SCRIPT), (2, "omer", edited)]


async def test_script_for_a_case_prefers_the_language_then_english(kb_engine: AsyncEngine) -> None:
    hebrew = dataclasses.replace(SCRIPT, slug="script-cancellation-he", language="he", title="ביטול")
    draft_fa = dataclasses.replace(SCRIPT, slug="script-cancellation-fa", language="fa", status="draft")
    async with kb_engine.begin() as conn:
        for draft in (SCRIPT, hebrew, draft_fa):
            await upsert_script(conn, draft, editor=None, now=NOW)
    async with kb_engine.connect() as conn:

        async def slug(case_type: str, language: str) -> str | None:
            found = await script_for(conn, case_type, language)
            return None if found is None else found.slug

        assert await slug("cancellation", "he") == "script-cancellation-he"
        assert await slug("cancellation", "ar") == "script-cancellation"
        assert await slug("cancellation", "fa") == "script-cancellation"  # its Persian one is a draft
        assert await slug("roaming", "en") is None
        assert [s.slug for s in await list_scripts(conn, case_type="cancellation", status="published")] == [
            "script-cancellation",
            "script-cancellation-he",
        ]
        assert [s.slug for s in await list_scripts(conn, language="fa")] == ["script-cancellation-fa"]
