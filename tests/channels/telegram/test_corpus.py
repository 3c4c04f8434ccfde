"""Every file of ``shared/corpus/telegram`` replayed, with the secret, into a fresh hub: one outcome each.

The official samples all carry ``update_id`` 10000, so each is replayed into a store of its own. They predate
Bot API 3.0 (no ``User.is_bot``), so python-telegram-bot 22.8 cannot parse the message ones: they are kept
aside with that reason. The inline-mode ones are kept aside as unsupported before any parsing is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.channels.conftest import MakeHub
from tests.channels.telegram.conftest import BOT_ID, SECRET, hub_env
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.corpus import CORPUS_DIR, corpus_bytes

NO_IS_BOT = (
    "malformed: update 10000: TypeError: User.__init__() missing 1 required positional argument: 'is_bot'"
)


@dataclass(frozen=True)
class Stored:
    source_kind: str
    text: str
    external_message_id: str
    contact_name: str


@dataclass(frozen=True)
class Aside:
    reason: str
    provider_id: str = "10000"


EXPECTED: dict[str, Stored | Aside] = {
    "pytba_update_message_text.json": Stored("text", "HIHI", "1111:241", "Fk Wg"),
    "tg_official_01_message_text_minimal.json": Aside(NO_IS_BOT),
    "tg_official_02_message_text.json": Aside(NO_IS_BOT),
    "tg_official_04_forwarded_channel_message.json": Aside(NO_IS_BOT),
    "tg_official_05_message_reply.json": Aside(NO_IS_BOT),
    "tg_official_07_message_entities.json": Aside(NO_IS_BOT),
    "tg_official_08_message_audio.json": Aside(NO_IS_BOT),
    "tg_official_10_message_document.json": Aside(NO_IS_BOT),
    "tg_official_11_inline_query.json": Aside("unsupported update: inline_query"),
    "tg_official_12_chosen_inline_result.json": Aside("unsupported update: chosen_inline_result"),
}


def test_every_corpus_file_has_an_expected_outcome() -> None:
    assert sorted(p.name for p in (CORPUS_DIR / "telegram").glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_corpus_file_outcome(name: str, make_hub: MakeHub, fake_bot_api: FakeBotApi) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    response = await hub.client.post(
        "/webhooks/telegram",
        data=corpus_bytes("telegram", name),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status == 200, await response.text()
    expected = EXPECTED[name]
    conversations = (await hub.get_json("/api/v1/conversations"))["items"]
    if isinstance(expected, Aside):
        assert conversations == []
        [kept] = (await hub.get_json("/api/v1/kept-aside"))["items"]
        assert (kept["channel"], kept["account"]) == ("telegram", BOT_ID)
        assert (kept["reason"], kept["provider_id"]) == (expected.reason, expected.provider_id)
        assert kept["content_type"] == "application/json"
        return
    [conversation] = conversations
    assert conversation["contact_name"] == expected.contact_name
    [item] = (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    assert (item["source_kind"], item["text"]) == (expected.source_kind, expected.text)
    assert (item["channel"], item["account"]) == ("telegram", BOT_ID)
    assert item["external_message_id"] == expected.external_message_id
    assert item["attachments"] == []
