"""Through the HTTP API with the real packaged model: sentiment appears on messages and conversations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Hub, start_test_hub
from tests.waiting import eventually

pytestmark = pytest.mark.slow

MODEL_WAIT = 180.0  # the first test of a session converts and loads the model


@pytest.fixture
async def enriching_hub(runtime: dict[str, str], model_home: Path, aiohttp_client: Any) -> Hub:
    env = {**runtime, "SWITCHBOARD_MODELS": "true", "SWITCHBOARD_MODEL_HOME": str(model_home)}
    return await start_test_hub(env, aiohttp_client)


async def _say(hub: Hub, message_id: str, text: str) -> dict[str, Any]:
    response = await hub.send({"message_id": message_id, "sender": {"id": "dana"}, "text": text})
    assert response.status == 200
    return dict(await response.json())


async def _conversation(hub: Hub, conversation_id: str) -> dict[str, Any]:
    return dict(await (await hub.get(f"/api/v1/conversations/{conversation_id}")).json())


async def test_messages_are_scored_and_a_sharp_drop_flags_the_conversation(enriching_hub: Hub) -> None:
    hub = enriching_hub
    first = await _say(hub, "s-1", "תודה רבה! הטכנאי היה מקסים והאינטרנט עובד מצוין 🙏")
    conversation_id = first["conversation_id"]

    async def scored() -> dict[str, Any] | None:
        conversation = await _conversation(hub, conversation_id)
        return conversation if conversation["sentiment"] is not None else None

    happy = await eventually(scored, timeout=MODEL_WAIT, what="the first message to be scored")
    assert happy["sentiment"] > 0.2 and happy["flagged_at"] is None and happy["priority"] == 0
    page = await (await hub.get(f"/api/v1/conversations/{conversation_id}/interactions")).json()
    [item] = page["items"]
    assert item["sentiment"]["label"] == "positive"
    assert item["sentiment"]["model"].startswith("multilingual-e5-small")

    await _say(
        hub, "s-2", "This is the THIRD outage this week. Absolutely unacceptable, I want to cancel NOW!"
    )

    async def flagged() -> dict[str, Any] | None:
        conversation = await _conversation(hub, conversation_id)
        return conversation if conversation["flagged_at"] is not None else None

    angry = await eventually(flagged, timeout=60, what="the sharp drop to flag the conversation")
    assert angry["sentiment_last"] < -0.3 and angry["sentiment"] < happy["sentiment"]
    assert angry["priority"] >= 2 and "drop" in angry["flag_reason"]
