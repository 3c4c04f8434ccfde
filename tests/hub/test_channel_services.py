"""What the hub offers channels beyond ingest: threading by reference, subject/details/inline files through
the inbox, per-channel durable state, the bot's answer on demand, and the phone actions' REST routes.

Channel doubles stand in for providers here (the real phone and email channels test themselves against
real servers and fakes of the providers)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from crm_core.accounts import create_agent, create_token
from crm_core.models import Agent, AuditEntry, Contact, Role
from crm_core.outbox import ReplyDraft
from hub.answer import HubAnswerer
from hub.channel_state import HubChannelState
from hub.contract import Channel, ChannelContext
from hub.errors import BadRequest
from hub.inbox import to_record
from hub.keys import ANSWERER, DATABASE, INBOX, OUTBOX
from hub.messages import (
    Attachment,
    BotAnswer,
    ExternalIdentity,
    InboundKind,
    InboundMessage,
    OutboundMessage,
    SendResult,
    utcnow,
)
from tests.hub.conftest import Hub
from tests.waiting import eventually


class MailDouble(Channel[None]):
    """Keeps what the outbox hands it; threads by reference like email."""

    threads_by_reference = True

    def __init__(self, context: ChannelContext) -> None:
        super().__init__("api", None, context)
        self.sent: list[OutboundMessage] = []

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return ()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(f"ours-{len(self.sent)}@hub")


class PhoneDouble(Channel[None]):
    """Keeps the actions the hub asks of it."""

    def __init__(self, context: ChannelContext) -> None:
        super().__init__("twilio_voice", None, context)
        self.actions: list[tuple[str, ExternalIdentity, str | None, Mapping[str, Any]]] = []

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return ()

    async def control(
        self,
        action: str,
        *,
        recipient: ExternalIdentity,
        thread_key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        if action not in ("connect", "recording", "call"):
            raise BadRequest(f"no action {action!r}", code="unsupported_action")
        self.actions.append((action, recipient, thread_key, dict(params or {})))
        return {"call_sid": "CA" + "0" * 32}


def _context(hub: Hub) -> ChannelContext:
    return ChannelContext(inbox=hub.app[INBOX], public_url=None)


def _mail(message_id: str, **extra: Any) -> InboundMessage:
    return InboundMessage(
        identity=ExternalIdentity("api", "default", "dana@example.com"),
        external_message_id=message_id,
        thread_key=message_id,
        kind=InboundKind.TEXT,
        received_at=utcnow(),
        text="שלום, החשבונית שגויה",
        **extra,
    )


async def test_replies_carry_subject_thread_and_references_and_a_reply_to_ours_joins_the_thread(
    hub: Hub,
) -> None:
    double = MailDouble(_context(hub))
    hub.app[OUTBOX].channels = {**hub.app[OUTBOX].channels, "api": double}
    [first] = await hub.app[INBOX].ingest(
        [
            _mail(
                "root@customer",
                subject="Re: חשבונית\x00 נובמבר",
                details={"html": "<p>שלום\x00</p>"},
                attachments=(Attachment("application/pdf", filename="bill.pdf", content=b"%PDF-1.7"),),
            )
        ]
    )
    response = await hub.client.post(
        f"/api/v1/conversations/{first.conversation_id}/messages",
        json={"text": "We are on it"},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert response.status == 202

    async def sent() -> list[OutboundMessage] | None:
        return double.sent or None

    await eventually(sent, what="the reply handed to the channel")
    [sent] = double.sent
    assert sent.subject == "Re: חשבונית נובמבר"  # NUL removed on the way in
    assert sent.thread_key == "root@customer" and sent.references == ("root@customer",)
    assert sent.automatic is False  # a person wrote it
    await hub.app[OUTBOX].queue(
        uuid.UUID(first.conversation_id),
        ReplyDraft(text="Restart the router.", bot=True, idempotency_key="b1"),
    )

    async def bot_sent() -> list[OutboundMessage] | None:
        return double.sent[1:] or None

    [bot] = await eventually(bot_sent, what="the bot's answer handed to the channel")
    assert bot.automatic is True
    # The customer answers our mail; their client starts a thread key of its own.
    [answer] = await hub.app[INBOX].ingest(
        [_mail("second@customer", references=("ours-1@hub", "root@customer"))]
    )
    assert answer.conversation_id == first.conversation_id
    page = await (await hub.get(f"/api/v1/conversations/{first.conversation_id}/interactions")).json()
    stored = page["items"][0]
    assert stored["subject"] == "Re: חשבונית נובמבר" and stored["details"] == {"html": "<p>שלום</p>"}
    [pdf] = stored["attachments"]
    media = await hub.get(pdf["stored_url"])
    assert media.status == 200 and await media.read() == b"%PDF-1.7"


async def test_each_channel_gets_its_own_durable_state(hub: Hub) -> None:
    api = hub.app[OUTBOX].channels["api"]
    state = api.context.state
    assert isinstance(state, HubChannelState)
    await state.put("imap:INBOX", "9:120")
    other = HubChannelState(hub.app[DATABASE], "email")
    assert await state.get("imap:INBOX") == "9:120" and await other.get("imap:INBOX") is None
    assert api.context.answer is hub.app[ANSWERER]


class FailingBot:
    async def answer_now(self, question: str, *, channel: str, language: str | None = None) -> BotAnswer:
        raise RuntimeError("index unavailable")


async def test_the_answerer_is_none_without_a_bot_and_when_the_bot_fails() -> None:
    answerer = HubAnswerer()
    caller = ExternalIdentity("twilio_voice", "+97235550000", "+972501234567")
    assert await answerer("מה שעות הפתיחה?", identity=caller) is None
    answerer.bot = FailingBot()  # type: ignore[assignment]
    assert await answerer("מה שעות הפתיחה?", identity=caller) is None


async def _agent_token(hub: Hub, phone: str | None, role: Role = Role.AGENT) -> tuple[str, uuid.UUID]:
    async with hub.app[DATABASE].writer.begin() as conn:
        agent = await create_agent(
            conn,
            name="Noa",
            email=f"noa-{uuid.uuid4().hex[:6]}@example.com",
            role=role,
            password=None,
            now=utcnow(),
        )
        agent_id = uuid.UUID(str(agent.id))
        await conn.execute(update(Agent).where(Agent.id == agent_id).values(phone=phone))
        token, _ = await create_token(
            conn,
            name="noa",
            role=role,
            agent_id=agent_id,
            now=utcnow(),
            expires_at=utcnow() + timedelta(hours=1),
        )
    return token, agent_id


async def _call(hub: Hub) -> tuple[PhoneDouble, str, str]:
    double = PhoneDouble(_context(hub))
    hub.app[OUTBOX].channels = {**hub.app[OUTBOX].channels, "twilio_voice": double}
    [call] = await hub.app[INBOX].ingest(
        [
            InboundMessage(
                identity=ExternalIdentity("twilio_voice", "+97235550000", "+972501234567"),
                external_message_id="CA1",
                thread_key="CA1",
                kind=InboundKind.CALL,
                received_at=utcnow(),
                details={"call_status": "queued"},
            )
        ]
    )
    return double, call.conversation_id, call.contact_id


async def _audit(hub: Hub, action: str) -> list[Any]:
    async with hub.app[DATABASE].reader.connect() as conn:
        return list(
            (await conn.execute(select(AuditEntry.__table__).where(AuditEntry.action == action))).all()
        )


async def test_an_agent_takes_a_queued_call_on_their_own_phone_and_pauses_its_recording(hub: Hub) -> None:
    double, conversation_id, _ = await _call(hub)
    token, agent_id = await _agent_token(hub, "client:noa")
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/conversations/{conversation_id}/call-actions"
    taken = await hub.client.post(url, json={"action": "connect"}, headers=auth)
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["result"] == {"call_sid": "CA" + "0" * 32}
    paused = await hub.client.post(
        url, json={"action": "recording", "params": {"paused": True}}, headers=auth
    )
    assert paused.status == 200
    assert [(a, r.external_id, t, p) for a, r, t, p in double.actions] == [
        ("connect", "+972501234567", "CA1", {"to": "client:noa"}),
        ("recording", "+972501234567", "CA1", {"paused": True}),
    ]
    [entry] = await _audit(hub, "call.recording")
    assert entry.actor == f"agent:{agent_id}" and entry.subject_id == conversation_id
    unknown = await hub.client.post(url, json={"action": "transfer-to-mars"}, headers=auth)
    assert unknown.status == 400 and (await unknown.json())["error"] == "unsupported_action"


async def test_connect_without_a_phone_on_the_profile_names_the_problem(hub: Hub) -> None:
    double, conversation_id, _ = await _call(hub)
    token, _ = await _agent_token(hub, None)
    response = await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/call-actions",
        json={"action": "connect"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 400 and (await response.json())["error"] == "no_phone"
    assert double.actions == []


async def test_click_to_call_rings_the_agent_and_calls_the_contacts_number(hub: Hub) -> None:
    double, _, contact_id = await _call(hub)
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(update(Contact).where(Contact.id == uuid.UUID(contact_id)).values(phone=None))
    token, _ = await _agent_token(hub, "+97250000001")
    auth = {"Authorization": f"Bearer {token}"}
    response = await hub.client.post(f"/api/v1/contacts/{contact_id}/calls", json={}, headers=auth)
    assert response.status == 202, await response.text()
    assert (await response.json())["to"] == "+972501234567"
    [(action, recipient, thread, params)] = double.actions
    assert (action, recipient.channel, recipient.external_id, thread) == (
        "call",
        "twilio_voice",
        "+972501234567",
        None,
    )
    assert params == {"agent": "+97250000001"}
    assert len(await _audit(hub, "call.placed")) == 1
    wrong = await hub.client.post(
        f"/api/v1/contacts/{contact_id}/calls", json={"to": "+15550000000"}, headers=auth
    )
    assert wrong.status == 400 and len(double.actions) == 1


async def test_phone_actions_need_the_channel_and_a_person(hub: Hub) -> None:
    _, conversation_id, _ = await _call(hub)
    del hub.app[OUTBOX].channels["twilio_voice"]
    token, _ = await _agent_token(hub, "client:noa")
    response = await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/call-actions",
        json={"action": "connect"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 409 and (await response.json())["error"] == "channel_disabled"
    async with hub.app[DATABASE].writer.begin() as conn:
        service, _ = await create_token(conn, name="svc", role=Role.SERVICE, now=utcnow())
    refused = await hub.client.post(
        f"/api/v1/conversations/{conversation_id}/call-actions",
        json={"action": "connect", "params": {"to": "+1"}},
        headers={"Authorization": f"Bearer {service}"},
    )
    assert refused.status == 403


def test_machine_mail_is_quiet_except_a_bounce() -> None:
    def record(machine: str | None) -> bool:
        return to_record(_mail("m@x", details={"machine": machine} if machine else None)).quiet

    assert record("auto_reply") and record("read_report") and record("list")
    assert not record("bounce") and not record(None)


async def test_nul_characters_anywhere_and_a_flood_of_references_are_stored(hub: Hub) -> None:
    """PostgreSQL refuses NUL in text and JSON, and more than 32,767 parameters in a statement: a crafted
    email must not block the mailbox behind it."""
    [root] = await hub.app[INBOX].ingest([_mail("root-\x00@customer")])
    crafted = InboundMessage(
        identity=ExternalIdentity("api", "default", "dana@example.com\x00"),
        external_message_id="crafted\x00@customer",
        thread_key="crafted\x00@customer",
        kind=InboundKind.TEXT,
        received_at=utcnow(),
        text="hello",
        reply_to_external_id="x\x00y",
        references=(*(f"r{i}\x00@x" for i in range(40_000)), "root-\x00@customer"),
        attachments=(Attachment("application/pd\x00f", filename="a\x00.pdf", content=b"%PDF"),),
    )
    [stored] = await hub.app[INBOX].ingest([crafted])
    [again] = await hub.app[INBOX].ingest([crafted])  # a retried delivery is still stored once
    assert again.duplicate and again.interaction_id == stored.interaction_id
    assert stored.conversation_id == root.conversation_id  # the thread's root reference was kept
    page = await (await hub.get(f"/api/v1/conversations/{stored.conversation_id}/interactions")).json()
    [item] = [i for i in page["items"] if i["id"] == stored.interaction_id]
    assert item["external_message_id"] == "crafted@customer"
    assert item["attachments"][0]["content_type"] == "application/pdf"


async def test_only_supervisors_put_calls_through_to_a_phone_not_their_own(hub: Hub) -> None:
    double, conversation_id, contact_id = await _call(hub)
    agent, _ = await _agent_token(hub, "client:noa")
    boss, _ = await _agent_token(hub, "client:sam", Role.SUPERVISOR)
    url = f"/api/v1/conversations/{conversation_id}/call-actions"
    body = {"action": "connect", "params": {"to": "+19005550123"}}
    refused = await hub.client.post(url, json=body, headers={"Authorization": f"Bearer {agent}"})
    assert refused.status == 403 and (await refused.json())["error"] == "not_your_phone"
    dialled = await hub.client.post(
        f"/api/v1/contacts/{contact_id}/calls",
        json={"agent": "+19005550123"},
        headers={"Authorization": f"Bearer {agent}"},
    )
    assert dialled.status == 403 and double.actions == []
    own = {"action": "connect", "params": {"to": "client:noa"}}
    assert (await hub.client.post(url, json=own, headers={"Authorization": f"Bearer {agent}"})).status == 200
    allowed = await hub.client.post(url, json=body, headers={"Authorization": f"Bearer {boss}"})
    assert allowed.status == 200
    assert [p["to"] for _, _, _, p in double.actions] == ["client:noa", "+19005550123"]
