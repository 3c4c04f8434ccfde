"""``POST /webhooks/telegram`` through a real hub (fresh SQLite store), the Bot API faked on loopback."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.telegram import TelegramChannel, TelegramSettings
from hub.contract import ChannelContext
from hub.messages import InboundMessage, IngestResult
from tests.channels.conftest import ChannelHub, MakeHub, RecordingInbox
from tests.channels.telegram.conftest import BOT_ID, SECRET, fixture_bytes, hub_env
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.waiting import eventually

HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _post(hub: ChannelHub, body: bytes, secret: str | None = SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    return await hub.client.post("/webhooks/telegram", data=body, headers=headers)


async def _interactions(hub: ChannelHub) -> list[dict[str, Any]]:
    conversations = (await hub.get_json("/api/v1/conversations"))["items"]
    items: list[dict[str, Any]] = []
    for conversation in conversations:
        items += (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    return items


async def test_missing_or_wrong_secret_is_401_and_stores_nothing(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    for secret, code in ((None, "missing_signature"), ("wrong", "bad_signature"), ("", "missing_signature")):
        response = await _post(hub, fixture_bytes("message__text.json"), secret)
        assert response.status == 401
        assert (await response.json())["error"] == code
    assert (await hub.get_json("/api/v1/conversations"))["items"] == []


async def test_text_message_is_stored_on_the_bots_account(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    response = await _post(hub, fixture_bytes("message__text.json"))
    assert response.status == 200
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    assert conversation["contact_name"] == "דנה Levi"
    [item] = await _interactions(hub)
    assert item["direction"] == "in" and item["source_kind"] == "text"
    assert item["text"] == "שלום! אני צריכה עזרה עם ההזמנה 🙏 order #A-17"
    assert (item["channel"], item["account"]) == ("telegram", BOT_ID)
    assert item["external_message_id"] == "555000111:42"


async def test_redelivery_is_stored_once_and_an_edit_separately(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    for name in (
        "message__text.json",
        "message__text.json",
        "edited_message__text.json",
        "edited_message__text.json",
    ):
        assert (await _post(hub, fixture_bytes(name))).status == 200
    items = await _interactions(hub)
    assert [(i["source_kind"], i["external_message_id"]) for i in items] == [
        ("text", "555000111:42"),
        ("edit", "555000111:42:edit:1764000300"),
    ]
    assert items[1]["text"] == "שלום! אני צריכה עזרה עם ההזמנה A-18 (תיקון)"


async def test_photo_is_stored_with_its_file_id(make_hub: MakeHub, fake_bot_api: FakeBotApi) -> None:
    # As large as the update says, so the size reads the same before and after the download.
    fake_bot_api.add_file("photo-large", b"\xff" * 120000, file_path="photos/file_3.jpg")
    hub = await make_hub(hub_env(fake_bot_api))
    assert (await _post(hub, fixture_bytes("message__photo.json"))).status == 200
    [item] = await _interactions(hub)
    assert item["source_kind"] == "media" and item["text"] == "הקבלה"
    # The hub downloads the file in the background and adds what it stored to the attachment.
    [attachment] = item["attachments"]
    assert {k: attachment[k] for k in ("content_type", "size", "media_id")} == {
        "content_type": "image/jpeg",
        "size": 120000,
        "media_id": "photo-large",
    }


async def test_button_press_is_stored_then_answered(make_hub: MakeHub, fake_bot_api: FakeBotApi) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    assert (await _post(hub, fixture_bytes("callback_query__button.json"))).status == 200
    [item] = await _interactions(hub)
    assert (item["source_kind"], item["text"]) == ("text", "order:A-17:cancel")
    [answer] = fake_bot_api.calls("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"


async def test_a_failed_callback_answer_does_not_fail_the_webhook(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    fake_bot_api.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
    assert (await _post(hub, fixture_bytes("callback_query__button.json"))).status == 200
    assert len(await _interactions(hub)) == 1


async def test_polling_bot_has_no_webhook(make_hub: MakeHub, fake_bot_api: FakeBotApi) -> None:
    env = hub_env(fake_bot_api, SWITCHBOARD_TELEGRAM_MODE="polling")
    del env["SWITCHBOARD_TELEGRAM_SECRET_TOKEN"]
    hub = await make_hub(env)
    response = await _post(hub, fixture_bytes("message__text.json"))
    assert response.status == 404


# -- the same handler with a recording inbox: what is handed over, and in which order --------------------


class _OrderCheckingInbox(RecordingInbox):
    """Fails if the button was answered before the press was stored."""

    fake: FakeBotApi | None = None

    async def ingest(self, messages: Any) -> list[IngestResult]:
        assert self.fake is not None and self.fake.calls("answerCallbackQuery") == []
        return await super().ingest(messages)


async def _webhook_app(channel: TelegramChannel) -> web.Application:
    app = web.Application()
    app.router.add_routes(channel.webhook_routes())
    return app


async def test_callback_is_answered_only_after_ingest_returns(fake_bot_api: FakeBotApi) -> None:
    inbox = _OrderCheckingInbox()
    inbox.fake = fake_bot_api
    settings = TelegramSettings(
        bot_token=fake_bot_api.token, secret_token=SECRET, api_base=fake_bot_api.api_base
    )
    channel = TelegramChannel("telegram", settings, ChannelContext(inbox=inbox, public_url=None))
    await channel.start()
    try:
        await channel.handle_update(fixture_bytes("callback_query__button.json"))
    finally:
        await channel.close()
    [message] = inbox.messages
    assert isinstance(message, InboundMessage) and message.text == "order:A-17:cancel"
    assert len(fake_bot_api.calls("answerCallbackQuery")) == 1


async def test_kept_aside_update_carries_body_type_and_update_id(
    fake_bot_api: FakeBotApi, recording_inbox: RecordingInbox, aiohttp_client: Any
) -> None:
    settings = TelegramSettings(
        bot_token=fake_bot_api.token, secret_token=SECRET, api_base=fake_bot_api.api_base
    )
    channel = TelegramChannel("telegram", settings, ChannelContext(inbox=recording_inbox, public_url=None))
    client = await aiohttp_client(await _webhook_app(channel))
    body = fixture_bytes("my_chat_member.json")
    response = await client.post("/", data=body, headers={HEADER: SECRET, "Content-Type": "application/json"})
    assert response.status == 200
    [aside] = recording_inbox.kept
    assert (aside.channel, aside.account, aside.provider_id) == ("telegram", BOT_ID, "700019")
    assert aside.reason == "unsupported update: my_chat_member"
    assert (aside.body, aside.content_type) == (body, "application/json")
    assert recording_inbox.messages == []
    await channel.close()


# -- replies through the hub's outbox ---------------------------------------------------------------------


async def _reply_status(hub: ChannelHub, text: str, status: str) -> dict[str, Any]:
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    response = await hub.client.post(f"{path}/messages", json={"text": text}, headers=hub.auth)
    assert response.status == 202, await response.text()
    queued = await response.json()

    async def check() -> dict[str, Any] | None:
        items = (await hub.get_json(f"{path}/interactions"))["items"]
        [found] = [i for i in items if i["id"] == queued["interaction_id"]]
        return found if found["delivery_status"] == status else None

    return await eventually(check, what=f"delivery_status {status}")


async def test_an_agent_reply_goes_out_through_the_bot_and_is_marked_sent(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    assert (await _post(hub, fixture_bytes("message__text.json"))).status == 200
    sent = await _reply_status(hub, "בטח, מה מספר ההזמנה?", "sent")
    [request] = fake_bot_api.calls("sendMessage")
    assert (request.params["chat_id"], request.params["text"]) == ("555000111", "בטח, מה מספר ההזמנה?")
    assert sent["external_message_id"] == "555000111:1001"


async def test_a_reply_to_a_bot_the_customer_blocked_fails_for_good(
    make_hub: MakeHub, fake_bot_api: FakeBotApi
) -> None:
    hub = await make_hub(hub_env(fake_bot_api))
    assert (await _post(hub, fixture_bytes("message__text.json"))).status == 200
    fake_bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    failed = await _reply_status(hub, "hello?", "failed")
    assert len(fake_bot_api.calls("sendMessage")) == 1
    assert failed["delivery_error"] == "403: Telegram refused: Forbidden: bot was blocked by the user"
