"""Through the whole hub with the real packaged model: a caller's routine question is answered from the
knowledge base on the line; a question the knowledge base cannot answer goes to the agents' queue."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import frontmatter
import pytest

from hub.keys import ANSWERER, ASSIGNER
from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.twilio_sms.fake_twilio import signed_form
from tests.channels.twilio_voice.conftest import call_fields
from tests.channels.twilio_voice.fake_voice import ACCOUNT_SID, AUTH_TOKEN
from tests.waiting import eventually

pytestmark = pytest.mark.slow

PUBLIC = "https://hub.example.com"
KB = Path(__file__).resolve().parents[2] / "data" / "kb" / "articles"
QUERY = "?account=%2B14155550100&customer=%2B972501234567"
MODEL_WAIT = 180.0  # the first test of a session converts and loads the model


async def _add_article(hub: ChannelHub, slug: str) -> None:
    post = frontmatter.load(KB / f"{slug}.md")
    meta: Mapping[str, Any] = post.metadata
    article = {"slug": slug, "language": meta["language"], "title": meta["title"], "body": post.content}
    article.update(short=meta.get("short", ""), tags=list(meta.get("tags", [])))
    response = await hub.client.post("/api/v1/kb/articles", json=article, headers=hub.auth)
    assert response.status == 201, await response.text()


async def _ask(hub: ChannelHub, call_sid: str, question: str) -> ET.Element:
    request = signed_form(
        PUBLIC + "/webhooks/twilio_voice/gather" + QUERY, call_fields(call_sid, SpeechResult=question)
    )
    response = await hub.client.post(request.path_qs, data=request.body, headers=request.headers)
    text = await response.text()
    assert response.status == 200, text
    return ET.fromstring(text)  # noqa: S314  (our hub's answer)


async def test_routine_question_answered_on_the_line_other_questions_queued(
    make_hub: MakeHub, model_home: Path
) -> None:
    hub = await make_hub(
        {
            "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_PUBLIC_URL": PUBLIC,
            "SWITCHBOARD_MODELS": "true",
            "SWITCHBOARD_MODEL_HOME": str(model_home),
            "SWITCHBOARD_BOT_CHANNELS": "twilio_voice",
        }
    )

    async def bot_ready() -> bool:
        return hub.app[ANSWERER].bot is not None

    await eventually(bot_ready, timeout=MODEL_WAIT, what="the bot to start")
    await _add_article(hub, "router-restart")

    answered = await _ask(hub, "CA" + "01" * 16, "How do I restart my router?")
    assert answered[0].tag == "Say" and "30 seconds" in str(answered[0].text)
    assert [child.tag for child in answered] == ["Say", "Gather"]

    queued = await _ask(hub, "CA" + "02" * 16, "Do you sell second-hand tractors in Eilat?")
    [enqueue] = queued.findall("Enqueue")
    assert enqueue.text == "support"

    # The call asked the bot itself: the hub's bot never answers it again through the outbox (a call has no
    # written reply), and round-robin does not wait for a bot handover to give the queued call to a person.
    assert hub.app[ASSIGNER].bot_channels == frozenset()
    calls = (await hub.get_json("/api/v1/conversations?channel=twilio_voice"))["items"]
    [tractors] = [c for c in calls if c["thread_key"] == "CA" + "02" * 16]
    path = f"/api/v1/conversations/{tractors['id']}/interactions"

    async def enriched() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await hub.get_json(path))["items"]
        said = [i for i in items if i["kind"] == "message" and i["direction"] == "in"]
        return items if said and said[0]["sentiment"] else None

    items = await eventually(enriched, timeout=MODEL_WAIT, what="the caller's words enriched")
    assert [i for i in items if i["kind"] == "bot_turn"] == []
    assert (await hub.get_json("/api/v1/outbox/dead"))["items"] == []
