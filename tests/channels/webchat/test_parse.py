"""The protocol's frames, pure: parsing what browsers send, building what the server sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from channels.webchat.parse import (
    Hello,
    IdentityClaim,
    Ping,
    Read,
    VisitorText,
    frame_from_payload,
    inbound_message,
    parse_frame,
    reply_payload,
    topic,
    visitor_message_payload,
    welcome_frame,
)
from hub.errors import BadRequest
from hub.messages import (
    Attachment,
    ExternalIdentity,
    HistoryItem,
    InboundKind,
    OutboundMessage,
    SenderHints,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
VISITOR = ExternalIdentity("webchat", "default", "visitor:AAAAAAAAAAAAAAAAAAAAAA")


def parse(frame: object, max_text: int = 100) -> object:
    return parse_frame(json.dumps(frame), max_text=max_text)


def test_hello_with_token_identity_and_page() -> None:
    frame = parse(
        {
            "type": "hello",
            "token": "v1.x.y",
            "identity": {"id": "cust-42", "signature": "ab", "name": "דנה", "email": "d@e.example"},
            "page": "https://shop.example/cart",
        }
    )
    assert frame == Hello(
        token="v1.x.y",
        identity=IdentityClaim("cust-42", "ab", name="דנה", email="d@e.example"),
        page="https://shop.example/cart",
    )


def test_hello_of_a_new_anonymous_visitor() -> None:
    assert parse({"type": "hello", "token": None}) == Hello(token=None, identity=None)


def test_message_keeps_the_text_exactly() -> None:
    text = "  שלום 👋 سلام\nline two  "
    assert parse({"type": "message", "client_id": "c-1_x", "text": text}) == VisitorText("c-1_x", text)


def test_ping_and_read() -> None:
    assert parse({"type": "ping"}) == Ping()
    assert parse({"type": "read", "ids": ["1", "2"]}) == Read(("1", "2"))


@pytest.mark.parametrize(
    ("raw", "code", "names"),
    [
        ("{not json", "bad_frame", "JSON"),
        ("[1]", "bad_frame", "JSON object"),
        ('{"type": "shout"}', "bad_frame", "unknown frame type 'shout'"),
        ('{"type": "message", "text": "hi"}', "bad_frame", "client_id"),
        ('{"type": "message", "client_id": "a b", "text": "hi"}', "bad_frame", "client_id"),
        ('{"type": "message", "client_id": "' + "x" * 65 + '", "text": "hi"}', "bad_frame", "client_id"),
        ('{"type": "message", "client_id": "c1"}', "bad_frame", "text must be a string"),
        ('{"type": "message", "client_id": "c1", "text": " \\n "}', "empty_message", "empty"),
        ('{"type": "message", "client_id": "c1", "text": "' + "x" * 101 + '"}', "too_long", "100"),
        ('{"type": "read", "ids": "1"}', "bad_frame", "ids"),
        ('{"type": "read", "ids": [1]}', "bad_frame", "ids"),
        ('{"type": "hello", "token": 5}', "bad_frame", "token must be a string"),
        ('{"type": "hello", "identity": "cust-42"}', "bad_identity", "identity must be an object"),
        ('{"type": "hello", "identity": {"id": "c"}}', "bad_identity", "identity.signature is required"),
        ('{"type": "hello", "identity": {"signature": "ab"}}', "bad_identity", "identity.id is required"),
        ('{"type": "hello", "identity": {"id": "a|b", "signature": "ab"}}', "bad_identity", "'|'"),
        (
            '{"type": "hello", "identity": {"id": "a", "signature": "ab", "email": "nope"}}',
            "bad_identity",
            "not an email",
        ),
    ],
)
def test_bad_frames_are_refused_with_a_code(raw: str, code: str, names: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_frame(raw, max_text=100)
    assert caught.value.code == code
    assert names in caught.value.detail


def test_text_limit_counts_characters_not_bytes() -> None:
    assert isinstance(parse({"type": "message", "client_id": "c", "text": "ש" * 100}), VisitorText)


def test_inbound_message_is_idempotent_per_visitor_and_client_id() -> None:
    hints = SenderHints(display_name="Dana", email="d@e.example", verified=True)
    message = inbound_message(
        VISITOR, "AAAAAAAAAAAAAAAAAAAAAA", VisitorText("c-1", "שלום"), received_at=NOW, hints=hints, page="p"
    )
    assert message.identity == VISITOR
    assert message.external_message_id == "AAAAAAAAAAAAAAAAAAAAAA:c-1"
    assert message.thread_key == VISITOR.external_id
    assert message.kind is InboundKind.TEXT and message.text == "שלום"
    assert message.sender_hints == hints and message.received_at == NOW
    assert message.raw == {"visitor_id": "AAAAAAAAAAAAAAAAAAAAAA", "client_id": "c-1", "page": "p"}


def test_topic_names_the_account_and_identity() -> None:
    assert topic(VISITOR) == "webchat.default.visitor:AAAAAAAAAAAAAAAAAAAAAA"


def test_welcome_carries_token_identity_and_history() -> None:
    history = [
        HistoryItem("i1", "in", "שלום", (), NOW),
        HistoryItem("i2", "out", "Hi!", ({"url": "https://f.example/a.pdf"},), NOW, "Noa", "delivered"),
    ]
    frame = json.loads(
        welcome_frame("tok", user=IdentityClaim("c", "s", name="Dana"), history=history, max_text=9)
    )
    assert frame == {
        "type": "welcome",
        "token": "tok",
        "identity": {"kind": "user", "name": "Dana"},
        "max_message_length": 9,
        "history": [
            {
                "id": "i1",
                "direction": "in",
                "text": "שלום",
                "attachments": [],
                "author_name": None,
                "time": NOW.isoformat(),
                "status": None,
            },
            {
                "id": "i2",
                "direction": "out",
                "text": "Hi!",
                "attachments": [{"url": "https://f.example/a.pdf"}],
                "author_name": "Noa",
                "time": NOW.isoformat(),
                "status": "delivered",
            },
        ],
    }
    assert json.loads(welcome_frame("t", user=None, history=[], max_text=9))["identity"] == {
        "kind": "visitor"
    }


def test_reply_payload_becomes_a_reply_frame() -> None:
    message = OutboundMessage(
        interaction_id="i9",
        conversation_id="c1",
        recipient=VISITOR,
        idempotency_key="k",
        text="בבקשה",
        attachments=(Attachment("application/pdf", url="https://f.example/a.pdf", content=b"x"),),
        author_name="Noa",
    )
    push = frame_from_payload(reply_payload(message, at=NOW))
    assert push is not None and push.kind == "reply" and push.interaction_id == "i9"
    assert json.loads(push.frame) == {
        "type": "reply",
        "id": "i9",
        "text": "בבקשה",
        "attachments": [{"content_type": "application/pdf", "url": "https://f.example/a.pdf"}],
        "author_name": "Noa",
        "time": NOW.isoformat(),
    }


def test_visitor_message_payload_becomes_a_message_frame() -> None:
    push = frame_from_payload(visitor_message_payload("i3", VisitorText("c-1", "hi"), at=NOW))
    assert push is not None and push.kind == "visitor_message"
    assert json.loads(push.frame) == {
        "type": "message",
        "id": "i3",
        "client_id": "c-1",
        "text": "hi",
        "time": NOW.isoformat(),
    }


@pytest.mark.parametrize("payload", [b"\xff", b"[]", b'{"kind": "reply"}', b'{"kind": "x", "id": "1"}'])
def test_unknown_payloads_are_ignored(payload: bytes) -> None:
    assert frame_from_payload(payload) is None
