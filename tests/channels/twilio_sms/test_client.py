"""Outbound and media through the real twilio-python async client, against the fake Twilio API."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from channels._twilio.client import retry_after_seconds
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_sms.client import TwilioSmsClient
from hub.errors import MediaUnavailable, OutsideServiceWindow, PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_sms.conftest import make_channel
from tests.channels.twilio_sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

OURS = "+14155550100"
CUSTOMER = "+972501234567"
PUBLIC = "https://hub.example.com"

MakeChannel = Callable[..., TwilioSmsChannel]


@pytest.fixture
async def channels(recording_inbox: RecordingInbox, fake_twilio: FakeTwilio) -> AsyncIterator[MakeChannel]:
    made: list[TwilioSmsChannel] = []

    def make(**kwargs: Any) -> TwilioSmsChannel:
        kwargs.setdefault("api_base", fake_twilio.base_url)
        channel = make_channel(recording_inbox, **kwargs)
        made.append(channel)
        return channel

    yield make
    for channel in made:
        await channel.close()


def _reply(external_id: str = CUSTOMER, account: str = OURS, **fields: Any) -> OutboundMessage:
    fields.setdefault("text", "שלום 👋 how can we help?")
    return OutboundMessage(
        interaction_id="i-1",
        conversation_id="c-1",
        recipient=ExternalIdentity("twilio_sms", account, external_id),
        idempotency_key="k-1",
        **fields,
    )


async def test_sms_reply_goes_out_from_our_number_with_a_status_callback(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    result = await channels(public_url=PUBLIC + "/").send(_reply())
    [sent] = fake_twilio.sent
    assert sent.authorized and sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.headers["User-Agent"].startswith("twilio-python/")
    assert sent.form["To"] == CUSTOMER and sent.form["From"] == OURS
    assert sent.form["Body"] == "שלום 👋 how can we help?"
    assert sent.form["StatusCallback"] == f"{PUBLIC}/webhooks/twilio_sms/status"
    assert result.external_message_id == sent.sid and sent.sid is not None and sent.sid.startswith("SM")


async def test_without_a_public_url_no_status_callback_is_asked(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    await channels().send(_reply())
    assert "StatusCallback" not in fake_twilio.sent[0].form


async def test_whatsapp_reply_goes_out_from_our_whatsapp_address(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    await channels().send(_reply(f"whatsapp:{CUSTOMER}"))
    assert fake_twilio.sent[0].form["To"] == f"whatsapp:{CUSTOMER}"
    assert fake_twilio.sent[0].form["From"] == f"whatsapp:{OURS}"


@pytest.mark.parametrize(
    ("external_id", "account", "settings", "expected"),
    [
        # The account is the Account SID (a corpus fallback): the configured sender, prefixed.
        (CUSTOMER, "AC" + "0" * 32, {"from_": "+15005550006"}, {"From": "+15005550006"}),
        (f"whatsapp:{CUSTOMER}", "ACx", {"from_": "+15005550006"}, {"From": "whatsapp:+15005550006"}),
        (CUSTOMER, "ACx", {"from_": "whatsapp:+15005550006"}, {"From": "+15005550006"}),
        (CUSTOMER, "MGservice", {}, {"MessagingServiceSid": "MGservice"}),
        (CUSTOMER, "22395", {"from_": "+15005550006"}, {"From": "22395"}),  # our short code
        (CUSTOMER, "ACx", {"messaging_service_sid": "MGdefault"}, {"MessagingServiceSid": "MGdefault"}),
    ],
)
async def test_sender_follows_the_account(
    channels: MakeChannel,
    fake_twilio: FakeTwilio,
    external_id: str,
    account: str,
    settings: dict[str, str],
    expected: dict[str, str],
) -> None:
    await channels(**settings).send(_reply(external_id, account))
    form = fake_twilio.sent[0].form
    assert {k: form[k] for k in ("From", "MessagingServiceSid") if k in form} == expected


async def test_no_sender_known_is_permanent_and_sends_nothing(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await channels().send(_reply(account="ACx"))
    assert caught.value.code == "no_sender" and fake_twilio.requests == []


async def test_attachments_go_as_repeated_media_urls(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    attachments = (
        Attachment("image/png", url="https://files.example/a.png"),
        Attachment("image/jpeg", url="https://files.example/b.jpg"),
    )
    await channels().send(_reply(attachments=attachments, text=None))
    form = fake_twilio.sent[0].form
    assert form.getall("MediaUrl") == ["https://files.example/a.png", "https://files.example/b.jpg"]
    assert "Body" not in form


async def test_inline_attachment_cannot_be_sent(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    with pytest.raises(PermanentSendError):
        await channels().send(_reply(attachments=(Attachment("image/png", content=b"png"),)))
    assert fake_twilio.requests == []


async def test_template_is_content_sid_and_variables(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    template = {"content_sid": "HX" + "b" * 32, "variables": {"1": "Dana", "2": 3}}
    await channels().send(_reply(f"whatsapp:{CUSTOMER}", text=None, template=template))
    form = fake_twilio.sent[0].form
    assert form["ContentSid"] == "HX" + "b" * 32
    assert json.loads(form["ContentVariables"]) == {"1": "Dana", "2": "3"}
    assert "Body" not in form


@pytest.mark.parametrize("template", [{}, {"content_sid": 5}, {"content_sid": "HX1", "variables": ["a"]}])
async def test_malformed_template_is_permanent(
    channels: MakeChannel, fake_twilio: FakeTwilio, template: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await channels().send(_reply(text=None, template=template))
    assert caught.value.code == "bad_template" and fake_twilio.requests == []


async def test_empty_reply_is_permanent(channels: MakeChannel) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await channels().send(_reply(text=None))
    assert caught.value.code == "empty_message"


async def test_rate_limit_is_temporary_with_retry_after(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, code=20429, message="Too Many Requests", retry_after=7)
    with pytest.raises(TemporarySendError) as caught:
        await channels().send(_reply())
    assert caught.value.retry_after == 7.0 and caught.value.provider_code == "20429"


async def test_rate_limit_without_retry_after(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(429, code=20429)
    with pytest.raises(TemporarySendError) as caught:
        await channels().send(_reply())
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_temporary(
    channels: MakeChannel, fake_twilio: FakeTwilio, status: int
) -> None:
    fake_twilio.fail_next(status, code=20500, message="Internal Server Error")
    with pytest.raises(TemporarySendError) as caught:
        await channels().send(_reply())
    assert caught.value.provider_code == "20500"


async def test_invalid_number_is_permanent_with_twilios_code(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(400, code=21211, message="Invalid 'To' Phone Number")
    with pytest.raises(PermanentSendError) as caught:
        await channels().send(_reply())
    assert type(caught.value) is PermanentSendError
    assert caught.value.provider_code == "21211" and "Invalid 'To' Phone Number" in caught.value.detail


async def test_outside_the_whatsapp_window(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, code=63016, message="Failed to send freeform message outside the window")
    with pytest.raises(OutsideServiceWindow) as caught:
        await channels().send(_reply(f"whatsapp:{CUSTOMER}"))
    assert caught.value.provider_code == "63016"


async def test_wrong_credentials_are_permanent(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await channels(auth_token="not-the-token").send(_reply())
    assert caught.value.provider_code == "20003" and not fake_twilio.requests[0].authorized


async def test_queued_errors_come_in_order_then_success(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(500, code=20500)
    channel = channels()
    with pytest.raises(TemporarySendError):
        await channel.send(_reply())
    result = await channel.send(_reply())
    assert result.external_message_id == fake_twilio.sent[0].sid and len(fake_twilio.requests) == 2


async def test_twilio_edge_in_the_environment_does_not_move_the_api_base(
    channels: MakeChannel, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # twilio-python reads TWILIO_EDGE/TWILIO_REGION from the environment and rewrites api.twilio.com.
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    result = await channels().send(_reply())
    assert result.external_message_id == fake_twilio.sent[0].sid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_unreachable_api_is_temporary(channels: MakeChannel) -> None:
    with pytest.raises(TemporarySendError):
        await channels(api_base=f"http://127.0.0.1:{_free_port()}").send(_reply())


async def test_a_hanging_api_times_out_as_temporary(aiohttp_server: Any) -> None:
    never = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", hang)
    server = await aiohttp_server(app)
    client = TwilioSmsClient(ACCOUNT_SID, AUTH_TOKEN, api_base=str(server.make_url("")), timeout=0.05)
    try:
        # The outer limit only turns a missing client timeout into a failure instead of a hang.
        with pytest.raises(TemporarySendError):
            async with asyncio.timeout(5):
                await client.create_message({"to": CUSTOMER, "from_": OURS, "body": "hi"})
    finally:
        never.set()
        await client.close()


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Tue, 24 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Tue, 24 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# -- media


async def test_media_is_downloaded_with_credentials_through_the_redirect(
    channels: MakeChannel, fake_twilio: FakeTwilio
) -> None:
    url = fake_twilio.add_media(b"\x89PNG fake image", "image/png")
    media = await channels().fetch_media(Attachment("image/png", url=url), max_bytes=1000)
    assert media.content == b"\x89PNG fake image" and media.content_type == "image/png"
    first, redirected = fake_twilio.requests
    assert first.authorized and "/Media/ME" in first.path
    assert redirected.path.startswith("/cdn/ME")


async def test_media_refused_by_twilio_is_unavailable(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    url = fake_twilio.add_media(b"x", "image/png")
    with pytest.raises(MediaUnavailable):
        await channels(auth_token="wrong").fetch_media(Attachment("image/png", url=url), max_bytes=1000)


async def test_missing_media_is_unavailable(channels: MakeChannel, fake_twilio: FakeTwilio) -> None:
    url = fake_twilio.add_media(b"x", "image/png").rsplit("/", 1)[0] + "/MEgone"
    with pytest.raises(MediaUnavailable):
        await channels().fetch_media(Attachment("image/png", url=url), max_bytes=1000)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_media_over_the_limit_is_unavailable(
    channels: MakeChannel, fake_twilio: FakeTwilio, chunked: bool
) -> None:
    url = fake_twilio.add_media(b"x" * 5000, "video/mp4", chunked=chunked)
    channel = channels()
    with pytest.raises(MediaUnavailable):
        await channel.fetch_media(Attachment("video/mp4", url=url), max_bytes=4999)
    media = await channel.fetch_media(Attachment("video/mp4", url=url), max_bytes=5000)
    assert len(media.content) == 5000


@pytest.mark.parametrize(
    "attachment",
    [
        Attachment("image/png", url="https://chatwoot-assets.local/sample.png"),
        Attachment("image/png", url="https://api.twilio.com.evil.example/2010-04-01/x"),
        Attachment("image/png", media_id="ME123"),
    ],
)
async def test_credentials_never_go_to_other_hosts(
    channels: MakeChannel, fake_twilio: FakeTwilio, attachment: Attachment
) -> None:
    with pytest.raises(MediaUnavailable):
        await channels().fetch_media(attachment, max_bytes=1000)
    assert fake_twilio.requests == []


# -- capabilities


def test_whatsapp_recipients_have_a_24_hour_window(recording_inbox: RecordingInbox) -> None:
    channel = make_channel(recording_inbox)
    assert channel.reply_window(ExternalIdentity("twilio_sms", OURS, f"whatsapp:{CUSTOMER}")) == timedelta(
        hours=24
    )
    assert channel.reply_window(ExternalIdentity("twilio_sms", OURS, CUSTOMER)) is None
    assert channel.keyword_opt_out is True


async def test_credentials_are_not_sent_on_to_the_media_store(
    channels: MakeChannel, fake_twilio: FakeTwilio, aiohttp_server: Any
) -> None:
    # Twilio redirects to its media store on another origin, which must not see our Auth Token.
    media_store = await aiohttp_server(fake_twilio.app())
    fake_twilio.cdn_base = str(media_store.make_url("")).rstrip("/")
    url = fake_twilio.add_media(b"voice note", "audio/ogg")
    media = await channels().fetch_media(Attachment("audio/ogg", url=url), max_bytes=1000)
    assert media.content == b"voice note"
    first, redirected = fake_twilio.requests
    assert first.authorized and "Authorization" in first.headers
    assert redirected.path.startswith("/cdn/") and "Authorization" not in redirected.headers
