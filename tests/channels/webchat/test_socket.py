"""The channel's WebSocket, served on a bare aiohttp app with a recording inbox and a memory broadcast."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest

from channels.webchat.tokens import issue_token, sign_identity
from hub.broadcast import MemoryBroadcast
from hub.errors import PermanentSendError, SwitchboardError, TemporarySendError
from hub.messages import (
    Attachment,
    DeliveryStatus,
    ExternalIdentity,
    HistoryItem,
    InboundKind,
    OutboundMessage,
    SenderHints,
)
from tests.channels.conftest import RecordingInbox
from tests.channels.webchat.conftest import (
    IDENTITY_SECRET,
    ORIGIN,
    SECRET,
    Chat,
    MakeChat,
    closed,
    receive,
)

TEXT = "שלום, אני צריכה עזרה 🙏 مرحبا"


def visitor_of(token: str) -> ExternalIdentity:
    return ExternalIdentity("webchat", "default", "visitor:" + token.split(".")[1])


async def test_a_new_visitor_gets_a_token_and_their_message_is_stored_and_acked(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    ws, welcome = await chat.hello()
    assert welcome["type"] == "welcome" and welcome["token"].startswith("v1.")
    assert welcome["identity"] == {"kind": "visitor"} and welcome["history"] == []
    assert welcome["max_message_length"] == 4000

    await ws.send_json({"type": "message", "client_id": "c-1", "text": TEXT})
    ack = await receive(ws)
    [stored] = recording_inbox.messages
    assert ack["type"] == "ack" and ack["client_id"] == "c-1" and ack["id"] and ack["duplicate"] is False
    assert stored.identity == visitor_of(welcome["token"])
    assert stored.external_message_id == welcome["token"].split(".")[1] + ":c-1"
    assert stored.text == TEXT and stored.kind is InboundKind.TEXT
    assert stored.sender_hints == SenderHints()
    assert stored.received_at.tzinfo is not None
    assert stored.raw is not None and stored.raw["page"] == ORIGIN + "/p"
    await ws.close()


async def test_reconnect_with_the_token_is_the_same_visitor_with_history_and_resends_are_stored_once(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    ws, welcome = await chat.hello()
    token = welcome["token"]
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "first"})
    first_ack = await receive(ws)
    await ws.close()
    when = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    recording_inbox.histories[visitor_of(token)] = [
        HistoryItem("i1", "in", "first", (), when),
        HistoryItem("i2", "out", "איך אפשר לעזור?", (), when, author_name="Noa", delivery_status="sent"),
    ]

    again, welcome_again = await chat.hello(token)
    assert welcome_again["token"] == token
    assert [(h["id"], h["direction"], h["text"], h["author_name"]) for h in welcome_again["history"]] == [
        ("i1", "in", "first", None),
        ("i2", "out", "איך אפשר לעזור?", "Noa"),
    ]
    assert welcome_again["history"][1]["time"] == when.isoformat()
    await again.send_json({"type": "message", "client_id": "c-1", "text": "first"})  # ack was lost
    resent = await receive(again)
    await again.send_json({"type": "message", "client_id": "c-2", "text": "second"})
    await receive(again)
    assert resent["duplicate"] is True and resent["client_id"] == "c-1" and first_ack["duplicate"] is False
    assert [m.text for m in recording_inbox.messages] == ["first", "second"]
    assert {m.identity for m in recording_inbox.messages} == {visitor_of(token)}
    await again.close()


@pytest.mark.parametrize(
    "token",
    [
        "v1.AAAAAAAAAAAAAAAAAAAAAA.forged",
        issue_token("some-other-secret-0123", "default", "AAAAAAAAAAAAAAAAAAAAAA"),
        issue_token(SECRET, "default", "AAAAAAAAAAAAAAAAAAAAAA").replace(".A", ".B", 1),
        "garbage",
    ],
)
async def test_a_forged_or_tampered_token_is_refused_and_the_socket_closed(
    chat: Chat, recording_inbox: RecordingInbox, token: str
) -> None:
    ws, error = await chat.hello(token)
    assert error["type"] == "error" and error["code"] == "bad_token"
    assert await closed(ws) == 4401
    assert recording_inbox.messages == []


async def test_a_valid_signed_identity_lands_on_the_customer_with_verified_hints(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    identity = {
        "id": "cust-42",
        "name": "דנה לוי",
        "email": "dana@example.com",
        "signature": sign_identity(IDENTITY_SECRET, "cust-42", "dana@example.com"),
    }
    ws, welcome = await chat.hello(identity=identity)
    assert welcome["identity"] == {"kind": "user", "name": "דנה לוי"}
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "hi"})
    await receive(ws)
    [stored] = recording_inbox.messages
    assert stored.identity == ExternalIdentity("webchat", "default", "user:cust-42")
    assert stored.sender_hints == SenderHints(display_name="דנה לוי", email="dana@example.com", verified=True)
    await ws.close()


async def test_the_same_customer_on_another_browser_is_the_same_identity_and_history(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    customer = ExternalIdentity("webchat", "default", "user:cust-42")
    recording_inbox.histories[customer] = [
        HistoryItem("i7", "out", "welcome back", (), datetime(2026, 1, 1, tzinfo=UTC))
    ]
    identity = {"id": "cust-42", "signature": sign_identity(IDENTITY_SECRET, "cust-42")}
    first, welcome_first = await chat.hello(identity=identity)
    second, welcome_second = await chat.hello(identity=identity)  # no token: another device
    assert welcome_first["token"] != welcome_second["token"]
    assert [h["id"] for h in welcome_second["history"]] == ["i7"]
    await first.close()
    await second.close()


@pytest.mark.parametrize(
    "identity",
    [
        {"id": "cust-42", "signature": sign_identity(IDENTITY_SECRET, "cust-43")},
        {"id": "cust-42", "signature": sign_identity("not-the-identity-secret", "cust-42")},
        # A real signature of the id, with an email the site never signed.
        {
            "id": "cust-42",
            "email": "mallory@example.com",
            "signature": sign_identity(IDENTITY_SECRET, "cust-42"),
        },
    ],
)
async def test_a_forged_identity_signature_is_refused_and_nothing_stored(
    chat: Chat, recording_inbox: RecordingInbox, identity: dict[str, str]
) -> None:
    ws, error = await chat.hello(identity=identity)
    assert error == {
        "type": "error",
        "code": "bad_identity_signature",
        "detail": "the identity signature does not match",
    }
    assert await closed(ws) == 4401
    assert recording_inbox.messages == []


async def test_a_signed_identity_is_refused_where_the_hub_has_no_identity_secret(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat(identity_secret=None)
    ws, error = await chat.hello(identity={"id": "c", "signature": sign_identity(IDENTITY_SECRET, "c")})
    assert error["code"] == "identity_not_enabled"
    assert await closed(ws) == 4403


async def test_a_malformed_identity_closes_with_4400(chat: Chat) -> None:
    ws, error = await chat.hello(identity={"id": "cust-42"})
    assert error["code"] == "bad_identity"
    assert await closed(ws) == 4400


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}, {"Origin": "null"}])
async def test_a_foreign_or_missing_origin_gets_403_and_no_socket(
    chat: Chat, headers: dict[str, str]
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await chat.client.ws_connect("/webchat/ws", headers=headers)
    assert caught.value.status == 403
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    response = await chat.client.get(
        "/webchat/ws", headers={**upgrade, "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **headers}
    )
    assert response.status == 403
    assert (await response.json())["error"] == "forbidden_origin"
    assert chat.channel.open_sockets == 0


async def test_every_configured_origin_may_connect_and_only_those(make_chat: MakeChat) -> None:
    chat = await make_chat(origins=("https://shop.example", "http://localhost:3000"))
    ws = await chat.open(origin="http://localhost:3000")
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await chat.open(origin="http://localhost:3001")


async def test_plain_http_to_the_socket_url_is_a_400(chat: Chat) -> None:
    response = await chat.client.get("/webchat/ws", headers={"Origin": ORIGIN})
    assert response.status == 400
    assert (await response.json())["error"] == "websocket_expected"


async def test_messages_over_the_visitor_rate_are_refused_with_retry_after(
    make_chat: MakeChat, recording_inbox: RecordingInbox
) -> None:
    chat = await make_chat(message_burst=2, messages_per_minute=1)
    ws, welcome = await chat.hello()
    replies = []
    for n in range(3):
        await ws.send_json({"type": "message", "client_id": f"c-{n}", "text": f"m{n}"})
        replies.append(await receive(ws))
    assert [r["type"] for r in replies] == ["ack", "ack", "error"]
    assert replies[2]["code"] == "rate_limited" and replies[2]["client_id"] == "c-2"
    assert 1 <= replies[2]["retry_after"] <= 60
    assert [m.text for m in recording_inbox.messages] == ["m0", "m1"]
    # The limit follows the visitor, not the socket.
    other, _ = await chat.hello(welcome["token"])
    await other.send_json({"type": "message", "client_id": "c-3", "text": "m3"})
    assert (await receive(other))["code"] == "rate_limited"
    assert len(recording_inbox.messages) == 2
    await ws.close()
    await other.close()


async def test_connections_over_the_ip_rate_get_429(make_chat: MakeChat) -> None:
    chat = await make_chat(connection_burst=2, connections_per_minute=1)
    sockets = [await chat.open(), await chat.open()]
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await chat.open()
    assert caught.value.status == 429
    assert caught.value.headers is not None and int(caught.value.headers["Retry-After"]) >= 1
    for ws in sockets:
        await ws.close()


async def test_an_agent_reply_reaches_every_open_socket_of_the_visitor_and_no_other(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    first, welcome = await chat.hello()
    second, _ = await chat.hello(welcome["token"])  # another tab
    stranger, _ = await chat.hello()
    result = await chat.channel.send(reply_to(visitor_of(welcome["token"]), "i-42", "בשמחה! 😊"))
    assert result.external_message_id == "i-42"
    for ws in (first, second):
        reply = await receive(ws)
        assert reply["type"] == "reply" and reply["id"] == "i-42" and reply["text"] == "בשמחה! 😊"
        assert reply["author_name"] == "Noa" and reply["attachments"] == [
            {"content_type": "image/png", "url": "https://files.example/a.png"}
        ]
        assert datetime.fromisoformat(reply["time"]).tzinfo is not None
    # Recorded when the browser next speaks, not at push time (the outbox has not stored the id yet).
    assert recording_inbox.updates == []
    for ws in (first, second, stranger):
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}  # for the stranger: no reply was queued before it
    assert [(u.external_message_id, u.status) for u in recording_inbox.updates] == [
        ("i-42", DeliveryStatus.DELIVERED),
        ("i-42", DeliveryStatus.DELIVERED),
    ]
    for ws in (first, second, stranger):
        await ws.close()


async def test_a_signed_customer_gets_replies_on_every_device(chat: Chat) -> None:
    identity = {"id": "cust-42", "signature": sign_identity(IDENTITY_SECRET, "cust-42")}
    phone, _ = await chat.hello(identity=identity)
    laptop, _ = await chat.hello(identity=identity)
    await chat.channel.send(reply_to(ExternalIdentity("webchat", "default", "user:cust-42"), "i-1", "hi"))
    assert (await receive(phone))["id"] == (await receive(laptop))["id"] == "i-1"
    await phone.close()
    await laptop.close()


async def test_the_visitor_s_other_tabs_see_their_message(chat: Chat) -> None:
    typing_tab, welcome = await chat.hello()
    other_tab, _ = await chat.hello(welcome["token"])
    await typing_tab.send_json({"type": "message", "client_id": "c-1", "text": "سلام"})
    ack = await receive(typing_tab)
    echo = await receive(other_tab)
    assert echo == {
        "type": "message",
        "id": ack["id"],
        "client_id": "c-1",
        "text": "سلام",
        "time": echo["time"],
    }
    await typing_tab.close()
    await other_tab.close()


async def test_read_marks_only_replies_this_socket_has_shown(
    chat: Chat, recording_inbox: RecordingInbox
) -> None:
    ws, welcome = await chat.hello()
    visitor = visitor_of(welcome["token"])
    await ws.close()
    recording_inbox.histories[visitor] = [HistoryItem("old", "out", "hello", (), datetime.now(UTC))]
    ws, _ = await chat.hello(welcome["token"])
    await chat.channel.send(reply_to(visitor, "new", "more"))
    await receive(ws)
    recording_inbox.updates.clear()
    await ws.send_json({"type": "read", "ids": ["old", "new", "someone-elses", "new"]})
    await ws.send_json({"type": "ping"})
    await receive(ws)  # the pong: the read frame was handled
    assert [(u.external_message_id, u.status) for u in recording_inbox.updates] == [
        ("new", DeliveryStatus.DELIVERED),
        ("old", DeliveryStatus.READ),
        ("new", DeliveryStatus.READ),
    ]
    assert all(u.channel == "webchat" for u in recording_inbox.updates)
    await ws.close()


async def test_send_without_a_broadcast_is_a_permanent_error(make_chat: MakeChat) -> None:
    chat = await make_chat(broadcast=None)
    with pytest.raises(PermanentSendError):
        await chat.channel.send(reply_to(ExternalIdentity("webchat", "default", "visitor:x"), "i", "hi"))


async def test_a_failing_broadcast_is_a_temporary_error(make_chat: MakeChat) -> None:
    class Down(MemoryBroadcast):
        async def publish(self, topic: str, payload: bytes) -> None:
            raise ConnectionError("redis is down")

    chat = await make_chat(broadcast=Down())
    with pytest.raises(TemporarySendError):
        await chat.channel.send(reply_to(ExternalIdentity("webchat", "default", "visitor:x"), "i", "hi"))


async def test_an_empty_reply_is_refused(chat: Chat) -> None:
    with pytest.raises(PermanentSendError):
        await chat.channel.send(
            OutboundMessage("i", "c", ExternalIdentity("webchat", "default", "visitor:x"), "k", text=None)
        )


async def test_without_a_broadcast_visitors_can_still_write(
    make_chat: MakeChat, recording_inbox: RecordingInbox
) -> None:
    chat = await make_chat(broadcast=None)
    ws, _ = await chat.hello()
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "hi"})
    assert (await receive(ws))["type"] == "ack"
    assert len(recording_inbox.messages) == 1
    await ws.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "message", "client_id": "c-1", "text": "x" * 4001}, "too_long"),
        ({"type": "message", "client_id": "c-1", "text": "   "}, "empty_message"),
        ({"type": "message", "client_id": "no spaces", "text": "hi"}, "bad_frame"),
        ({"type": "hello"}, "bad_frame"),
        ({"type": "dance"}, "bad_frame"),
    ],
)
async def test_a_bad_frame_after_hello_is_answered_and_the_socket_stays(
    chat: Chat, recording_inbox: RecordingInbox, frame: dict[str, str], code: str
) -> None:
    ws, _ = await chat.hello()
    await ws.send_json(frame)
    assert (await receive(ws))["code"] == code
    await ws.send_str("not json")
    assert (await receive(ws))["code"] == "bad_frame"
    await ws.send_bytes(b"\x00")
    assert (await receive(ws))["code"] == "bad_frame"
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    assert recording_inbox.messages == []
    await ws.close()


async def test_the_first_frame_must_be_hello(chat: Chat) -> None:
    ws = await chat.open()
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "hi"})
    assert (await receive(ws))["code"] == "hello_expected"
    assert await closed(ws) == 4400


async def test_a_socket_without_hello_is_closed_after_the_timeout(make_chat: MakeChat) -> None:
    chat = await make_chat(hello_timeout_seconds=0.05)
    ws = await chat.open()
    assert (await receive(ws))["code"] == "hello_expected"
    assert await closed(ws) == 4408


async def test_a_message_the_store_cannot_take_is_answered_retry_and_the_socket_stays(
    chat: Chat, recording_inbox: RecordingInbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(messages: object) -> None:
        raise SwitchboardError("the hub is shutting down", code="store_unavailable")

    ws, _ = await chat.hello()
    monkeypatch.setattr(recording_inbox, "ingest", unavailable)
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "hi"})
    error = await receive(ws)
    assert error["code"] == "store_unavailable" and error["client_id"] == "c-1" and error["retry"] is True
    monkeypatch.undo()
    await ws.send_json({"type": "message", "client_id": "c-1", "text": "hi"})
    assert (await receive(ws))["type"] == "ack"
    await ws.close()


async def test_close_closes_every_open_socket_with_1001(chat: Chat) -> None:
    first, _ = await chat.hello()
    second = await chat.open()  # before hello
    assert chat.channel.open_sockets == 2
    await chat.channel.close()
    assert await closed(first) == 1001
    assert await closed(second) == 1001
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await chat.open()
    assert caught.value.status == 503


async def test_a_dead_socket_is_dropped_by_the_heartbeat(make_chat: MakeChat) -> None:
    chat = await make_chat(heartbeat_seconds=0.05)
    live, _ = await chat.hello()
    live_reading = asyncio.create_task(receive(live))  # reading answers the server's pings
    silent = await chat.open(autoping=False)  # never answers them
    await silent.send_json({"type": "hello", "token": None})
    kinds = []
    while (message := await silent.receive(timeout=5)).type in (
        aiohttp.WSMsgType.TEXT,
        aiohttp.WSMsgType.PING,
    ):
        kinds.append(message.type)
    assert aiohttp.WSMsgType.PING in kinds
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    await live.send_json({"type": "ping"})
    assert await live_reading == {"type": "pong"}
    await live.close()


def reply_to(recipient: ExternalIdentity, interaction_id: str, text: str) -> OutboundMessage:
    return OutboundMessage(
        interaction_id=interaction_id,
        conversation_id="conv-1",
        recipient=recipient,
        idempotency_key=interaction_id,
        text=text,
        attachments=(Attachment("image/png", url="https://files.example/a.png"),),
        author_name="Noa",
    )


async def test_behind_a_trusted_proxy_connections_are_counted_per_forwarded_address(
    make_chat: MakeChat,
) -> None:
    chat = await make_chat(connection_burst=1, connections_per_minute=1, trust_forwarded_for=True)
    alice = await chat.open(headers={"Origin": ORIGIN, "X-Forwarded-For": "1.1.1.1, 10.0.0.1"})
    bob = await chat.open(headers={"Origin": ORIGIN, "X-Forwarded-For": "10.0.0.2"})
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await chat.open(headers={"Origin": ORIGIN, "X-Forwarded-For": "9.9.9.9, 10.0.0.1"})  # forged first
    assert caught.value.status == 429
    await alice.close()
    await bob.close()


async def test_forwarded_addresses_are_ignored_unless_trusted(make_chat: MakeChat) -> None:
    chat = await make_chat(connection_burst=1, connections_per_minute=1)
    first = await chat.open(headers={"Origin": ORIGIN, "X-Forwarded-For": "10.0.0.1"})
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await chat.open(headers={"Origin": ORIGIN, "X-Forwarded-For": "10.0.0.2"})
    await first.close()
