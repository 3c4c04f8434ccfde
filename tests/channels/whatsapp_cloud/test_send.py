"""Sending and media download through aiohttp against the fake Graph API: bodies, errors, limits."""

from __future__ import annotations

from typing import Any

import pytest

from channels.whatsapp_cloud import WhatsAppCloudChannel
from channels.whatsapp_cloud.outbound import graph_error, retry_after_seconds
from hub.errors import MediaUnavailable, OutsideServiceWindow, PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage, SendResult
from tests.channels.whatsapp_cloud.conftest import PHONE_NUMBER_ID, MakeChannel
from tests.channels.whatsapp_cloud.fake_graph import DEFAULT_TOKEN, FakeGraph

CUSTOMER = ExternalIdentity("whatsapp_cloud", PHONE_NUMBER_ID, "+972501234567")
PDF = Attachment("application/pdf", url="https://files.example/invoice.pdf", filename="חשבונית.pdf")
PHOTO = Attachment("image/jpeg", url="https://files.example/p.jpg")
VOICE = Attachment("audio/ogg", url="https://files.example/v.ogg")
USAGE = '{"1": [{"type": "whatsapp", "estimated_time_to_regain_access": 5}]}'
"""Graph's X-Business-Use-Case-Usage header: access comes back in 5 minutes."""


def _reply(**fields: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "interaction_id": "i-1",
        "conversation_id": "c-1",
        "recipient": CUSTOMER,
        "idempotency_key": "k-1",
        **fields,
    }
    return OutboundMessage(**values)


def _envelope(kind: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "972501234567",
        "type": kind,
        kind: content,
        **extra,
    }


async def test_text_goes_to_the_messages_endpoint_with_the_bearer_token(
    sender: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    result = await sender.send(_reply(text="שלום דנה, ההזמנה יצאה היום 📦"))
    assert result == SendResult("wamid.1")
    [request] = graph.requests
    assert (request.path, request.phone_number_id) == (f"/v21.0/{PHONE_NUMBER_ID}/messages", PHONE_NUMBER_ID)
    assert request.authorization == f"Bearer {DEFAULT_TOKEN}"
    assert graph.sent == [_envelope("text", {"preview_url": False, "body": "שלום דנה, ההזמנה יצאה היום 📦"})]


async def test_a_reply_names_the_message_it_answers(sender: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    await sender.send(_reply(text="yes", reply_to_external_id="wamid.IN"))
    assert graph.sent[0]["context"] == {"message_id": "wamid.IN"}


async def test_the_customer_is_written_to_from_the_number_they_wrote_to(
    sender: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    other = ExternalIdentity("whatsapp_cloud", "106540352242922", "+16505551234")
    await sender.send(_reply(recipient=other, text="hi"))
    assert graph.requests[0].phone_number_id == "106540352242922"
    assert graph.sent[0]["to"] == "16505551234"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            {"name": "order_update", "language": "he", "parameters": ["דנה", 42]},
            {
                "name": "order_update",
                "language": {"code": "he"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": "דנה"}, {"type": "text", "text": "42"}],
                    }
                ],
            },
        ),
        (
            {"name": "welcome", "language": {"code": "en_US"}, "parameters": {"first_name": "Sam"}},
            {
                "name": "welcome",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Sam"}],
                    }
                ],
            },
        ),
        (
            {
                "name": "receipt",
                "language": "en",
                "components": [
                    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]}
                ],
                "parameters": [{"type": "currency", "currency": {"fallback_value": "$5", "code": "USD"}}],
            },
            {
                "name": "receipt",
                "language": {"code": "en"},
                "components": [
                    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "currency", "currency": {"fallback_value": "$5", "code": "USD"}}
                        ],
                    },
                ],
            },
        ),
        (
            {"name": "hello_world", "language": "en_US"},
            {"name": "hello_world", "language": {"code": "en_US"}},
        ),
    ],
)
async def test_template(
    sender: WhatsAppCloudChannel, graph: FakeGraph, template: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert await sender.send(_reply(template=template, text="preview only")) == SendResult("wamid.1")
    assert graph.sent == [_envelope("template", expected)]


@pytest.mark.parametrize(
    "template",
    [
        {"language": "en"},
        {"name": "x"},
        {"name": "x", "language": {"policy": "deterministic"}},
        {"name": "x", "language": "en", "parameters": "a"},
        {"name": "x", "language": "en", "components": {"type": "body"}},
        {
            "name": "x",
            "language": "en",
            "parameters": ["a"],
            "components": [{"type": "body", "parameters": []}],
        },
    ],
)
async def test_a_malformed_template_is_refused_before_any_call(
    sender: WhatsAppCloudChannel, graph: FakeGraph, template: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_reply(template=template))
    assert caught.value.code == "bad_template"
    assert graph.requests == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"text": "your invoice", "attachments": (PDF,)},
            [_envelope("document", {"link": PDF.url, "caption": "your invoice", "filename": "חשבונית.pdf"})],
        ),
        ({"attachments": (PHOTO,)}, [_envelope("image", {"link": PHOTO.url})]),
        (
            {"text": "listen", "attachments": (VOICE,), "reply_to_external_id": "wamid.IN"},
            [
                _envelope(
                    "text", {"preview_url": False, "body": "listen"}, context={"message_id": "wamid.IN"}
                ),
                _envelope("audio", {"link": VOICE.url}),
            ],
        ),
        (
            {"text": "two", "attachments": (PHOTO, Attachment("video/mp4", media_id="99"))},
            [_envelope("image", {"link": PHOTO.url, "caption": "two"}), _envelope("video", {"id": "99"})],
        ),
        (
            {"text": "x" * 1025, "attachments": (PHOTO,)},
            [
                _envelope("text", {"preview_url": False, "body": "x" * 1025}),
                _envelope("image", {"link": PHOTO.url}),
            ],
        ),
    ],
)
async def test_media_goes_by_link_with_the_text_as_caption_where_allowed(
    sender: WhatsAppCloudChannel, graph: FakeGraph, fields: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert await sender.send(_reply(**fields)) == SendResult("wamid.1")
    assert graph.sent == expected


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"text": ""},
        {"attachments": (Attachment("image/png", content=b"png"),)},
        {"text": "x", "recipient": ExternalIdentity("whatsapp_cloud", PHONE_NUMBER_ID, "dana@example.com")},
        {"text": "x", "recipient": ExternalIdentity("whatsapp_cloud", "../../me", "+972501234567")},
    ],
)
async def test_what_cannot_be_sent_is_refused_before_any_call(
    sender: WhatsAppCloudChannel, graph: FakeGraph, fields: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError):
        await sender.send(_reply(**fields))
    assert graph.requests == []


@pytest.mark.parametrize(
    ("failure", "error_type", "provider_code", "retry_after"),
    [
        ({"status": 429, "code": 130429, "headers": {"Retry-After": "7"}}, TemporarySendError, "130429", 7.0),
        (
            {"status": 400, "code": 131056, "message": "Pair rate limit hit"},
            TemporarySendError,
            "131056",
            None,
        ),
        ({"status": 400, "code": 80007}, TemporarySendError, "80007", None),
        (
            {"status": 400, "code": 4, "headers": {"X-Business-Use-Case-Usage": USAGE}},
            TemporarySendError,
            "4",
            300.0,
        ),
        ({"status": 400, "code": 131048}, TemporarySendError, "131048", None),
        ({"status": 500, "code": 1}, TemporarySendError, "1", None),
        ({"status": 503, "code": 131016}, TemporarySendError, "131016", None),
        ({"status": 502, "body": {}}, TemporarySendError, None, None),
        (
            {"status": 400, "code": 131047, "message": "Re-engagement message"},
            OutsideServiceWindow,
            "131047",
            None,
        ),
        (
            {"status": 400, "code": 131026, "message": "Message undeliverable"},
            PermanentSendError,
            "131026",
            None,
        ),
        ({"status": 400, "code": 100, "subcode": 2494010}, PermanentSendError, "100", None),
        ({"status": 404, "body": {}}, PermanentSendError, None, None),
    ],
)
async def test_graph_errors_map_onto_ours(
    sender: WhatsAppCloudChannel,
    graph: FakeGraph,
    failure: dict[str, Any],
    error_type: type[Exception],
    provider_code: str | None,
    retry_after: float | None,
) -> None:
    graph.fail_next(**failure)
    with pytest.raises(error_type) as caught:
        await sender.send(_reply(text="hi"))
    error = caught.value
    assert type(error) is error_type
    assert getattr(error, "provider_code", None) == provider_code
    assert getattr(error, "retry_after", None) == retry_after
    assert graph.sent == []


async def test_error_detail_carries_metas_words(sender: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    graph.fail_next(code=131026, message="Message undeliverable", details="Receiver is incapable")
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_reply(text="hi"))
    assert (
        caught.value.detail
        == "Graph API answered 400: (131026) Message undeliverable — Receiver is incapable"
    )


async def test_a_wrong_access_token_is_permanent(make_channel: MakeChannel, graph: FakeGraph) -> None:
    channel = make_channel(graph_base=graph.base_url, access_token="expired")
    with pytest.raises(PermanentSendError) as caught:
        await channel.send(_reply(text="hi"))
    assert caught.value.provider_code == "190"


async def test_unreachable_graph_is_temporary(make_channel: MakeChannel) -> None:
    channel = make_channel(graph_base="http://127.0.0.1:9")
    with pytest.raises(TemporarySendError):
        await channel.send(_reply(text="hi"))


async def test_a_graph_that_does_not_answer_in_time_is_temporary(
    make_channel: MakeChannel, graph: FakeGraph
) -> None:
    channel = make_channel(graph_base=graph.base_url, timeout_seconds=0.2)
    graph.hang_next()
    with pytest.raises(TemporarySendError):
        await channel.send(_reply(text="hi"))


async def test_accepted_without_a_message_id_is_not_retried(
    sender: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    graph.fail_next(status=200, body={"messaging_product": "whatsapp", "messages": []})
    with pytest.raises(PermanentSendError):
        await sender.send(_reply(text="hi"))


async def test_a_failure_after_a_part_went_out_is_final_so_nothing_is_sent_twice(
    sender: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    graph.fail_next(status=429, code=130429, after=1)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(_reply(text="see both", attachments=(PHOTO, PDF)))
    assert "sent 1 of 2 parts (first wamid.1)" in caught.value.detail
    assert caught.value.provider_code == "130429"
    assert [body["type"] for body in graph.sent] == ["image"]


def test_retry_after_reads_only_what_makes_sense() -> None:
    assert retry_after_seconds({"Retry-After": "2.5"}) == 2.5
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_seconds({"X-Business-Use-Case-Usage": "not json"}) is None
    assert retry_after_seconds({}) is None
    assert isinstance(graph_error(429, None, {}), TemporarySendError)


# -- media download ------------------------------------------------------------------------------------


async def test_fetch_media_looks_the_id_up_and_downloads_with_the_token(
    sender: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    graph.add_media("65463453", b"\xff\xd8jpeg-bytes", "image/jpeg")
    media = await sender.fetch_media(
        Attachment("image/jpeg", media_id="65463453", filename="p.jpg"), max_bytes=1024
    )
    assert (media.content, media.content_type, media.filename) == (
        b"\xff\xd8jpeg-bytes",
        "image/jpeg",
        "p.jpg",
    )
    assert [(r.path, r.authorization) for r in graph.requests] == [
        ("/v21.0/65463453", f"Bearer {DEFAULT_TOKEN}"),
        ("/_media/65463453", f"Bearer {DEFAULT_TOKEN}"),
    ]


@pytest.mark.parametrize(
    ("file_size", "chunked", "downloads"),
    [(5000, False, 0), (None, False, 1), (None, True, 1), (10, True, 1)],
    ids=["lookup-says-too-big", "content-length-too-big", "stream-runs-past-limit", "lookup-lies"],
)
async def test_fetch_media_refuses_more_than_max_bytes(
    sender: WhatsAppCloudChannel, graph: FakeGraph, file_size: int | None, chunked: bool, downloads: int
) -> None:
    graph.add_media("7", b"x" * 5000, "video/mp4", file_size=file_size, chunked=chunked)
    with pytest.raises(MediaUnavailable):
        await sender.fetch_media(Attachment("video/mp4", media_id="7"), max_bytes=4096)
    assert sum(r.path == "/_media/7" for r in graph.requests) == downloads


@pytest.mark.parametrize(
    "attachment",
    [
        Attachment("image/jpeg", media_id="404404"),
        Attachment("image/jpeg", media_id="../../me"),
        Attachment("image/jpeg", url="https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"),
    ],
)
async def test_fetch_media_without_a_known_media_id_is_unavailable(
    sender: WhatsAppCloudChannel, graph: FakeGraph, attachment: Attachment
) -> None:
    with pytest.raises(MediaUnavailable):
        await sender.fetch_media(attachment, max_bytes=1024)
    assert all(r.path.startswith("/v21.0/") for r in graph.requests)


async def test_fetch_media_with_a_wrong_token_is_unavailable(
    make_channel: MakeChannel, graph: FakeGraph
) -> None:
    graph.add_media("8", b"x")
    channel = make_channel(graph_base=graph.base_url, access_token="expired")
    with pytest.raises(MediaUnavailable):
        await channel.fetch_media(Attachment("image/jpeg", media_id="8"), max_bytes=1024)


async def test_fetch_media_from_an_unreachable_graph_is_unavailable(make_channel: MakeChannel) -> None:
    with pytest.raises(MediaUnavailable):
        await make_channel().fetch_media(Attachment("image/jpeg", media_id="8"), max_bytes=1024)
