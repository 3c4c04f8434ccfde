"""Sending and downloading through python-telegram-bot's real ``Bot``, against the fake Bot API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from channels.telegram.client import TelegramClient
from hub.errors import MediaUnavailable, PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage
from tests.channels.telegram.fake_bot_api import FakeBotApi

# PTB itself warns when it builds a RetryAfter (its retry_after type is changing); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CHAT = "555000111"


def _reply(**fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "interaction_id": "i-1",
        "conversation_id": "c-1",
        "recipient": ExternalIdentity("telegram", "123456789", CHAT),
        "idempotency_key": "k-1",
        "text": "שלום, how can we help? 🙂",
    }
    values.update(fields)
    return OutboundMessage(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(fake_bot_api: FakeBotApi) -> AsyncIterator[TelegramClient]:
    telegram = TelegramClient(fake_bot_api.token, fake_bot_api.api_base)
    await telegram.start()
    yield telegram
    await telegram.close()


async def test_start_checks_the_token_with_get_me(client: TelegramClient, fake_bot_api: FakeBotApi) -> None:
    assert [r.method for r in fake_bot_api.requests] == ["getMe"]
    assert client.bot.id == fake_bot_api.bot_id


async def test_start_survives_telegram_being_down(fake_bot_api: FakeBotApi) -> None:
    fake_bot_api.fail_next("getMe", 500, "Internal Server Error")
    telegram = TelegramClient(fake_bot_api.token, fake_bot_api.api_base)
    await telegram.start()
    result = await telegram.send(_reply())
    await telegram.close()
    assert result.external_message_id == f"{CHAT}:1001"


async def test_text_reply_is_sent_and_named_chat_colon_message(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    result = await client.send(_reply())
    [sent] = fake_bot_api.calls("sendMessage")
    assert sent.params["chat_id"] == CHAT
    assert sent.params["text"] == "שלום, how can we help? 🙂"
    assert "reply_parameters" not in sent.params
    assert result.external_message_id == f"{CHAT}:1001"


async def test_reply_to_a_customer_message_quotes_it(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    await client.send(_reply(reply_to_external_id=f"{CHAT}:42"))
    [sent] = fake_bot_api.calls("sendMessage")
    assert sent.json_param("reply_parameters") == {"message_id": 42, "allow_sending_without_reply": True}


async def test_long_text_goes_out_in_pieces(client: TelegramClient, fake_bot_api: FakeBotApi) -> None:
    result = await client.send(_reply(text="x" * 5000))
    assert [len(r.params["text"]) for r in fake_bot_api.calls("sendMessage")] == [4096, 904]
    assert result.external_message_id == f"{CHAT}:1001"


async def test_image_url_is_sent_as_a_photo_with_the_text_as_caption(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    photo = Attachment("image/png", url="https://files.example/receipt.png")
    result = await client.send(_reply(text="your receipt", attachments=(photo,)))
    assert fake_bot_api.calls("sendMessage") == []
    [sent] = fake_bot_api.calls("sendPhoto")
    assert sent.params["photo"] == "https://files.example/receipt.png"
    assert sent.params["caption"] == "your receipt"
    assert result.external_message_id == f"{CHAT}:1001"


async def test_other_files_go_as_documents_by_url_file_id_or_upload(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    attachments = (
        Attachment("application/pdf", url="https://files.example/terms.pdf"),
        Attachment("audio/ogg", media_id="voice-1"),
        Attachment("text/plain", filename="notes.txt", content=b"hello"),
    )
    await client.send(_reply(text=None, attachments=attachments))
    by_url, by_id, uploaded = fake_bot_api.calls("sendDocument")
    assert by_url.params["document"] == "https://files.example/terms.pdf"
    assert by_id.params["document"] == "voice-1"
    assert uploaded.files == {"document": b"hello"}
    assert uploaded.content_type == "multipart/form-data"


async def test_text_too_long_for_a_caption_goes_first_on_its_own(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    photo = Attachment("image/jpeg", url="https://files.example/p.jpg")
    await client.send(_reply(text="y" * 1500, attachments=(photo,)))
    assert [r.method for r in fake_bot_api.requests[1:]] == ["sendMessage", "sendPhoto"]
    assert "caption" not in fake_bot_api.calls("sendPhoto")[0].params


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"text": None, "template": {"name": "welcome"}}, "Telegram has no message templates"),
        ({"text": ""}, "nothing to send"),
        ({"text": None, "attachments": (Attachment("image/png"),)}, "no url, file id or content"),
    ],
)
async def test_what_telegram_cannot_send_is_refused_for_good(
    client: TelegramClient, fields: dict[str, object], problem: str
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await client.send(_reply(**fields))
    assert problem in caught.value.detail


@pytest.mark.parametrize(
    ("code", "description", "retry_after", "kind", "provider_code", "detail"),
    [
        (429, "Too Many Requests: retry after 7", 7, TemporarySendError, "429", "Retry in 7 seconds"),
        (500, "Internal Server Error", None, TemporarySendError, None, "Internal Server Error"),
        (502, "Bad Gateway", None, TemporarySendError, None, "Bad Gateway"),
        (403, "Forbidden: bot was blocked by the user", None, PermanentSendError, "403", "bot was blocked"),
        (400, "Bad Request: chat not found", None, PermanentSendError, "400", "chat not found"),
    ],
)
async def test_refusals_map_to_temporary_or_permanent(
    client: TelegramClient,
    fake_bot_api: FakeBotApi,
    code: int,
    description: str,
    retry_after: int | None,
    kind: type[Exception],
    provider_code: str | None,
    detail: str,
) -> None:
    fake_bot_api.fail_next("sendMessage", code, description, retry_after=retry_after)
    with pytest.raises(kind) as caught:
        await client.send(_reply())
    error = caught.value
    assert isinstance(error, TemporarySendError | PermanentSendError)
    assert error.provider_code == provider_code
    assert getattr(error, "retry_after", None) == (float(retry_after) if retry_after else None)
    assert detail.lower() in error.detail.lower()


async def test_unreachable_api_is_temporary() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    telegram = TelegramClient("123456789:AAE-x", f"http://127.0.0.1:{port}")
    await telegram.start()
    with pytest.raises(TemporarySendError):
        await telegram.send(_reply())
    await telegram.close()


async def test_answer_callback_query_is_best_effort(client: TelegramClient, fake_bot_api: FakeBotApi) -> None:
    fake_bot_api.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
    await client.answer_callback_query("q-1")
    await client.answer_callback_query("q-2")
    assert [r.params["callback_query_id"] for r in fake_bot_api.calls("answerCallbackQuery")] == [
        "q-1",
        "q-2",
    ]


# -- media ----------------------------------------------------------------------------------------------


async def test_media_is_downloaded_with_the_bot_token(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.add_file("doc-1", b"%PDF-1.7 ...", file_path="documents/file_7.pdf")
    attachment = Attachment("application/pdf", filename="invoice.pdf", media_id="doc-1")
    media = await client.fetch_media(attachment, max_bytes=1000)
    assert media.content == b"%PDF-1.7 ..."
    assert (media.content_type, media.filename) == ("application/pdf", "invoice.pdf")
    assert fake_bot_api.calls("getFile")[0].params["file_id"] == "doc-1"
    assert fake_bot_api.file_downloads == ["documents/file_7.pdf"]


async def test_media_without_a_filename_is_named_after_its_path(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.add_file("photo-large", b"\xff\xd8jpeg", file_path="photos/file_3.jpg")
    media = await client.fetch_media(Attachment("image/jpeg", media_id="photo-large"), max_bytes=1000)
    assert media.filename == "file_3.jpg"


async def test_media_declared_too_large_is_not_downloaded(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.add_file("big", b"x" * 2000)
    with pytest.raises(MediaUnavailable, match="over the 1000-byte limit"):
        await client.fetch_media(Attachment("video/mp4", media_id="big"), max_bytes=1000)
    assert fake_bot_api.file_downloads == []


@pytest.mark.parametrize(
    ("chunked", "problem"),
    [(False, "Content-Length is over the 1000-byte limit"), (True, "file is over the 1000-byte limit")],
    ids=["content-length", "chunked"],
)
async def test_media_larger_than_getfile_said_is_cut_off(
    client: TelegramClient, fake_bot_api: FakeBotApi, chunked: bool, problem: str
) -> None:
    fake_bot_api.add_file("liar", b"x" * 5000, declared_size=None, chunked=chunked)
    with pytest.raises(MediaUnavailable, match=problem):
        await client.fetch_media(Attachment("video/mp4", media_id="liar"), max_bytes=1000)
    assert fake_bot_api.file_downloads == ["documents/liar"]


async def test_unknown_or_missing_file_id_is_unavailable(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    with pytest.raises(MediaUnavailable, match="Invalid file_id"):
        await client.fetch_media(Attachment("image/jpeg", media_id="gone"), max_bytes=1000)
    with pytest.raises(MediaUnavailable, match="no Telegram file_id"):
        await client.fetch_media(Attachment("image/jpeg", url="https://x.example/a.jpg"), max_bytes=1000)


async def test_failed_download_does_not_reveal_the_token(
    client: TelegramClient, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.add_file("doc-3", b"data", file_path="documents/expired.pdf", served=False)
    with pytest.raises(MediaUnavailable) as caught:
        await client.fetch_media(Attachment("application/pdf", media_id="doc-3"), max_bytes=1000)
    assert "404" in caught.value.detail
    assert fake_bot_api.token not in caught.value.detail
