"""Knowledge and the bot end to end through the HTTP API, with the real packaged model (no faked output)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import frontmatter
import pytest

from hub.keys import ANSWERER, INBOX, SETTINGS
from hub.keys_knowledge import KNOWLEDGE
from hub.messages import ExternalIdentity, InboundKind, InboundMessage, utcnow
from tests.hub.conftest import API_SECRET, Hub, start_test_hub
from tests.hub.test_openapi import _check as documented
from tests.knowledge.fake_llm import FakeLLM
from tests.waiting import eventually

pytestmark = pytest.mark.slow

KB = Path(__file__).resolve().parents[1] / "data" / "kb" / "articles"
ARTICLES = ("router-restart", "router-lights", "router-restart-he", "moving-house", "esim-activation")
WAIT = 120.0


def _article(slug: str) -> dict[str, Any]:
    post = frontmatter.load(KB / f"{slug}.md")
    meta: Mapping[str, Any] = post.metadata
    return {
        "slug": slug,
        "language": meta["language"],
        "title": meta["title"],
        "body": post.content,
        "short": meta.get("short", ""),
        "tags": list(meta.get("tags", [])),
        "case_types": list(meta.get("case_types", [])),
    }


async def _hub(
    env: Mapping[str, str], aiohttp_client: Any, model_home: Path, sqlite_url: str, tmp_path: Path
) -> Hub:
    full = {
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_DATABASE_URL": sqlite_url,
        "SWITCHBOARD_AUTO_MIGRATE": "false",
        "SWITCHBOARD_API_SECRET": API_SECRET,
        "SWITCHBOARD_MODEL_HOME": str(model_home),
        "SWITCHBOARD_BOT_CHANNELS": "api",
        **env,
    }
    hub = await start_test_hub(full, aiohttp_client)
    for slug in ARTICLES:
        response = await hub.client.post("/api/v1/kb/articles", json=_article(slug), headers=_auth(hub))
        assert response.status == 201, await response.text()
    return hub


def _auth(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token}"}


@pytest.fixture
async def kb_hub(aiohttp_client: Any, model_home: Path, sqlite_url: str, tmp_path: Path) -> Hub:
    return await _hub({}, aiohttp_client, model_home, sqlite_url, tmp_path)


async def _interactions(hub: Hub, conversation_id: str) -> list[dict[str, Any]]:
    page = await (await hub.get(f"/api/v1/conversations/{conversation_id}/interactions")).json()
    return list(page["items"])


async def _say(hub: Hub, message_id: str, text: str, sender: str = "dana") -> str:
    body = {"message_id": message_id, "sender": {"id": sender, "name": "Dana Levi"}, "text": text}
    response = await hub.send(body)
    assert response.status == 200
    return str((await response.json())["conversation_id"])


async def test_an_article_is_found_at_once_and_edits_reindex_only_it(kb_hub: Hub) -> None:
    response = await kb_hub.get("/api/v1/kb/search?q=how+do+I+restart+my+router&k=3")
    found = await documented(response, "GET", "/api/v1/kb/search")
    assert found["items"][0]["slug"] in ("router-restart", "router-restart-he")
    assert found["items"][0]["passage"] and found["items"][0]["dense"] > 0.8

    hebrew = await (await kb_hub.get("/api/v1/kb/search?q=איך+מפעילים+מחדש+את+הראוטר&language=he")).json()
    assert hebrew["items"][0]["slug"] == "router-restart-he"

    new = {
        "slug": "pigeon-post",
        "language": "en",
        "title": "Sending us a carrier pigeon",
        "body": "Our Haifa office accepts carrier pigeons on weekdays. Tie the note to the left leg.",
    }
    created = await kb_hub.client.post("/api/v1/kb/articles", json=new, headers=_auth(kb_hub))
    assert created.status == 201
    await documented(created, "POST", "/api/v1/kb/articles")
    before = len(kb_hub.app[KNOWLEDGE].articles)
    found = await (await kb_hub.get("/api/v1/kb/search?q=can+I+send+a+pigeon")).json()
    assert found["items"][0]["slug"] == "pigeon-post"

    edited = await kb_hub.client.put(
        "/api/v1/kb/articles/pigeon-post",
        json={**new, "body": new["body"] + " Owls too."},
        headers=_auth(kb_hub),
    )
    assert (
        edited.status == 200
        and (await documented(edited, "PUT", "/api/v1/kb/articles/{slug}"))["version"] == 2
    )
    assert len(kb_hub.app[KNOWLEDGE].articles) == before
    response = await kb_hub.get("/api/v1/kb/articles/pigeon-post/versions")
    versions = await documented(response, "GET", "/api/v1/kb/articles/{slug}/versions")
    listed = await documented(
        await kb_hub.get("/api/v1/kb/articles?language=he"), "GET", "/api/v1/kb/articles"
    )
    assert [a["slug"] for a in listed["items"]] == ["router-restart-he"]
    scripts = await documented(await kb_hub.get("/api/v1/kb/scripts"), "GET", "/api/v1/kb/scripts")
    assert scripts["items"] == []
    assert [v["version"] for v in versions["items"]] == [1, 2]


async def test_a_message_gets_sentiment_and_suggestions_with_the_customer_filled_in(kb_hub: Hub) -> None:
    conversation_id = await _say(
        kb_hub, "k-1", "my wifi keeps dropping, how do I turn the router off and on?"
    )

    async def scored() -> dict[str, Any] | None:
        conversation = await (await kb_hub.get(f"/api/v1/conversations/{conversation_id}")).json()
        return conversation if conversation["sentiment"] is not None else None

    # The worker scores the message first, then records its suggestions.
    await eventually(scored, timeout=WAIT, what="sentiment")

    async def suggested() -> dict[str, Any] | None:
        response = await kb_hub.get(f"/api/v1/conversations/{conversation_id}/suggestions")
        if response.status != 200:
            return None
        return dict(await documented(response, "GET", "/api/v1/conversations/{id}/suggestions"))

    suggestions = await eventually(suggested, timeout=WAIT, what="suggestions")
    assert suggestions["articles"][0]["slug"] == "router-restart"
    assert suggestions["articles"][0]["passage"] and suggestions["articles"][0]["model"]
    reply = suggestions["reply"]
    assert reply["path"] == "extractive" and "Dana" in reply["text"] and "{" not in reply["text"]

    outcome = await kb_hub.client.post(
        f"/api/v1/suggestions/{reply['suggestion_id']}/outcome",
        json={"outcome": "edited"},
        headers=_auth(kb_hub),
    )
    assert outcome.status == 200
    again = await kb_hub.get(f"/api/v1/conversations/{conversation_id}/suggestions")
    assert (await again.json())["reply"]["outcome"] == "edited"


async def _bot_turns(hub: Hub, conversation_id: str) -> list[dict[str, Any]]:
    return [i for i in await _interactions(hub, conversation_id) if i["kind"] == "bot_turn"]


async def _conversation(hub: Hub, conversation_id: str) -> dict[str, Any]:
    return dict(await (await hub.get(f"/api/v1/conversations/{conversation_id}")).json())


async def test_the_bot_answers_with_a_citation_once_then_hands_over(kb_hub: Hub) -> None:
    conversation_id = await _say(kb_hub, "b-1", "How do I restart my router?", sender="bot-1")

    async def answered() -> list[dict[str, Any]] | None:
        return await _bot_turns(kb_hub, conversation_id) or None

    [turn] = await eventually(answered, timeout=WAIT, what="the bot's answer")
    assert turn["direction"] == "out" and "Source: " in turn["text"]

    await _say(kb_hub, "b-2", "I want to talk to a real person please", sender="bot-1")

    async def handed_over() -> dict[str, Any] | None:
        conversation = await _conversation(kb_hub, conversation_id)
        return conversation if conversation["handed_over_at"] else None

    conversation = await eventually(handed_over, timeout=WAIT, what="the handover")
    assert conversation["handover"]["reason"] == "customer_asked_for_a_person"
    assert len(await _bot_turns(kb_hub, conversation_id)) == 1


async def test_the_bot_hands_over_what_it_cannot_answer_and_a_hebrew_request_for_a_person(
    kb_hub: Hub,
) -> None:
    unknown = await _say(kb_hub, "u-1", "Do you sell second-hand tractors in Eilat?", sender="bot-2")
    person = await _say(kb_hub, "p-1", "אני רוצה לדבר עם נציג אנושי", sender="bot-3")

    async def both_handed_over() -> list[dict[str, Any]] | None:
        found = [await _conversation(kb_hub, c) for c in (unknown, person)]
        return found if all(c["handed_over_at"] for c in found) else None

    first, second = await eventually(both_handed_over, timeout=WAIT, what="both handovers")
    assert first["handover"]["reason"] in ("low_confidence", "no_evidence")
    assert isinstance(first["handover"]["confidence"], float)
    assert second["handover"]["reason"] == "customer_asked_for_a_person"
    assert await _bot_turns(kb_hub, unknown) == [] and await _bot_turns(kb_hub, person) == []


@pytest.mark.parametrize("failure", ["fail", "hang"])
async def test_drafted_replies_fall_back_to_the_article_when_the_generator_fails(
    failure: str, aiohttp_client: Any, model_home: Path, sqlite_url: str, tmp_path: Path
) -> None:
    async with FakeLLM() as llm:
        env = {
            "SWITCHBOARD_LLM_BASE_URL": llm.base_url,
            "SWITCHBOARD_LLM_MODEL": "served-model",
            "SWITCHBOARD_LLM_TIMEOUT": "1",
            "SWITCHBOARD_BOT_CHANNELS": "",
        }
        hub = await _hub(env, aiohttp_client, model_home, sqlite_url, tmp_path)
        getattr(llm, failure)()
        conversation_id = await _say(hub, "g-1", "how do I turn the router off and on?")

        async def suggested() -> dict[str, Any] | None:
            response = await hub.get(f"/api/v1/conversations/{conversation_id}/suggestions")
            return dict(await response.json()) if response.status == 200 else None

        suggestions = await eventually(suggested, timeout=WAIT, what="suggestions")
        assert suggestions["reply"]["path"] == "extractive"
        [request] = llm.requests
        assert "turn the router off and on" in request.content_of("user")
        prompt = " ".join(m["content"] for m in request.messages)
        assert suggestions["articles"][0]["passage"][:40] in prompt


async def test_machine_mail_is_never_answered_by_the_bot(kb_hub: Hub) -> None:
    [machine] = await kb_hub.app[INBOX].ingest(
        [
            InboundMessage(
                identity=ExternalIdentity("api", "default", "robot@example.com"),
                external_message_id="auto-1",
                thread_key="auto-1",
                kind=InboundKind.TEXT,
                received_at=utcnow(),
                text="How do I restart my router?",
                details={"machine": "auto_reply"},
            )
        ]
    )
    person = await _say(kb_hub, "h-1", "How do I restart my router?", sender="bot-4")

    async def answered() -> list[dict[str, Any]] | None:
        return await _bot_turns(kb_hub, person) or None

    await eventually(answered, timeout=WAIT, what="the bot's answer to the person")

    async def scored() -> list[dict[str, Any]] | None:
        found = await _interactions(kb_hub, machine.conversation_id)
        return found if found[0]["sentiment"] else None

    await eventually(scored, timeout=WAIT, what="the auto-reply enriched")
    assert await _bot_turns(kb_hub, machine.conversation_id) == []
    assert (await _conversation(kb_hub, machine.conversation_id))["handed_over_at"] is None


async def test_the_bot_answers_a_caller_on_demand_only_when_confident_and_on_its_channels(
    kb_hub: Hub,
) -> None:
    answerer = kb_hub.app[ANSWERER]
    caller = ExternalIdentity("api", "default", "+972501234567")
    answer = await answerer("How do I restart my router?", identity=caller, language="en")
    assert answer is not None and answer.source == "How to restart your router"
    assert "30 seconds" in answer.text and answer.confidence >= kb_hub.app[SETTINGS].bot_threshold
    assert await answerer("Do you sell second-hand tractors in Eilat?", identity=caller) is None
    elsewhere = ExternalIdentity("twilio_voice", "+97235550000", "+972501234567")
    assert await answerer("How do I restart my router?", identity=elsewhere) is None
