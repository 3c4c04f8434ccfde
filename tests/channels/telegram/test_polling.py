"""Polling mode: getUpdates against the fake Bot API, each update through the webhook's own path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from channels.telegram import TelegramChannel, TelegramSettings
from hub.contract import ChannelContext
from hub.messages import InboundMessage, IngestResult
from tests.channels.conftest import RecordingInbox
from tests.channels.telegram.conftest import fixture_json
from tests.channels.telegram.fake_bot_api import FakeBotApi

# Every wait here ends as soon as the fake sees the awaited request; this only stops a broken test hanging.
WAIT = 5


def _polling(fake: FakeBotApi, inbox: RecordingInbox) -> TelegramChannel:
    settings = TelegramSettings(
        bot_token=fake.token, api_base=fake.api_base, mode="polling", poll_timeout=30, poll_retry_delay=0
    )
    return TelegramChannel("telegram", settings, ChannelContext(inbox=inbox, public_url=None))


def _offset(value: int) -> Any:
    return lambda request: request.params.get("offset") == str(value)


def _unparseable(update_id: int) -> dict[str, Any]:
    update: dict[str, Any] = fixture_json("message__reply.json")
    update["update_id"] = update_id
    del update["message"]["from"]["is_bot"]
    return update


@pytest.fixture
async def running(
    fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox
) -> AsyncIterator[TelegramChannel]:
    channel = _polling(fake_bot_api, recording_inbox)
    await channel.start()
    yield channel
    await channel.close()


def _getupdates_offsets(fake: FakeBotApi) -> list[str | None]:
    return [r.params.get("offset") for r in fake.calls("getUpdates")]


async def test_polling_deletes_the_webhook_then_stores_and_confirms_each_update(
    fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox, running: TelegramChannel
) -> None:
    await fake_bot_api.queue_update(fixture_json("message__text.json"))  # 700001
    await fake_bot_api.queue_update(_unparseable(700002))
    await fake_bot_api.queue_update(fixture_json("my_chat_member.json"))  # 700019
    async with asyncio.timeout(WAIT):
        await fake_bot_api.wait_for("getUpdates", _offset(700020))
    methods = [r.method for r in fake_bot_api.requests]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake_bot_api.calls("deleteWebhook")[0].params.get("drop_pending_updates") in (None, "False")
    [message] = recording_inbox.messages
    assert message.external_message_id == "555000111:42" and (message.text or "").startswith("שלום!")
    assert [(k.provider_id, k.reason) for k in recording_inbox.kept] == [
        (
            "700002",
            "malformed: update 700002: TypeError: User.__init__() missing 1 required positional argument:"
            " 'is_bot'",
        ),
        ("700019", "unsupported update: my_chat_member"),
    ]
    assert json.loads(recording_inbox.kept[1].body) == fixture_json("my_chat_member.json")


async def test_polled_button_press_is_answered(
    fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox, running: TelegramChannel
) -> None:
    await fake_bot_api.queue_update(fixture_json("callback_query__button.json"))  # 700017
    async with asyncio.timeout(WAIT):
        await fake_bot_api.wait_for("getUpdates", _offset(700018))
    assert [m.text for m in recording_inbox.messages] == ["order:A-17:cancel"]
    assert fake_bot_api.calls("answerCallbackQuery")[0].params["callback_query_id"] == "4382bfdwdsb323b2d9"


class _FailingOnceInbox(RecordingInbox):
    """Its first ingest fails, as a store that is briefly down would."""

    failed = False

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("database is locked")
        return await super().ingest(messages)


async def test_an_update_whose_store_failed_is_fetched_again(fake_bot_api: FakeBotApi) -> None:
    inbox = _FailingOnceInbox()
    channel = _polling(fake_bot_api, inbox)
    await fake_bot_api.queue_update(fixture_json("message__text.json"))  # 700001
    await channel.start()
    try:
        async with asyncio.timeout(WAIT):
            await fake_bot_api.wait_for("getUpdates", _offset(700002))
    finally:
        await channel.close()
    # Not confirmed after the failure: the second poll asks from the start again.
    assert _getupdates_offsets(fake_bot_api)[:3] == [None, None, "700002"]
    assert [m.external_message_id for m in inbox.messages] == ["555000111:42"]


async def test_telegram_errors_do_not_stop_the_poller(
    fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox
) -> None:
    fake_bot_api.fail_next("deleteWebhook", 500, "Internal Server Error")
    fake_bot_api.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    fake_bot_api.fail_next("getUpdates", 502, "Bad Gateway")
    await fake_bot_api.queue_update(fixture_json("message__photo.json"))  # 700004
    channel = _polling(fake_bot_api, recording_inbox)
    await channel.start()
    try:
        async with asyncio.timeout(WAIT):
            await fake_bot_api.wait_for("getUpdates", _offset(700005))
    finally:
        await channel.close()
    assert len(fake_bot_api.calls("deleteWebhook")) == 2
    assert [m.external_message_id for m in recording_inbox.messages] == ["555000111:45"]


async def test_close_cancels_the_poller(fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox) -> None:
    channel = _polling(fake_bot_api, recording_inbox)
    await channel.start()
    async with asyncio.timeout(WAIT):
        await fake_bot_api.wait_for("getUpdates")  # now parked in a long poll
    assert any(t.get_name() == "telegram-poller" for t in asyncio.all_tasks())
    await channel.close()
    assert not any(t.get_name() == "telegram-poller" for t in asyncio.all_tasks())


async def test_webhook_mode_does_not_poll(fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox) -> None:
    settings = TelegramSettings(
        bot_token=fake_bot_api.token, secret_token="s", api_base=fake_bot_api.api_base
    )
    channel = TelegramChannel("telegram", settings, ChannelContext(inbox=recording_inbox, public_url=None))
    await channel.start()
    await channel.close()
    assert [r.method for r in fake_bot_api.requests] == ["getMe"]
