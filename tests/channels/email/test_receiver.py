"""The hub's SMTP receiver: a real aiosmtpd listener in a started hub, mail sent over SMTP with aiosmtplib."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosmtplib
import pytest

import channels.email.adapter as adapter_module
from channels.email.parse import ParsedEmail
from channels.email.receiver import SmtpReceiver
from hub.messages import utcnow
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import StartHub, make_channel
from tests.channels.email.mails import CUSTOMER, HEBREW, OURS, mail
from tests.waiting import eventually


async def _send(port: int, raw: bytes) -> int:
    """One SMTP session delivering ``raw``; the reply code to DATA."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        try:
            await client.sendmail("relay@mx.test", [OURS], raw)
        except aiosmtplib.SMTPResponseException as err:
            return err.code
    return 250


async def test_message_is_stored_before_the_receiver_answers_250(start_hub: StartHub) -> None:
    email = await start_hub()
    assert await email.deliver(mail(HEBREW, subject="חשבונית", message_id="<r1@example.co.il>")) == [250]
    # No waiting: 250 is sent only once the interaction is committed.
    [(conversation, interaction)] = await email.stored()
    assert (interaction["channel"], interaction["direction"], interaction["text"]) == ("email", "in", HEBREW)
    assert interaction["external_message_id"] == "r1@example.co.il"
    assert interaction["subject"] == "חשבונית"
    assert conversation["subject"] == "חשבונית"
    assert [a["filename"] for a in interaction["attachments"]] == ["original.eml"]


async def test_a_retried_delivery_is_stored_once(start_hub: StartHub) -> None:
    email = await start_hub()
    raw = mail("once", message_id="<r2@example.co.il>")
    assert await email.deliver(raw) == [250]
    assert await email.deliver(raw) == [250]
    assert len(await email.stored()) == 1


async def test_unparseable_mail_is_kept_aside_and_the_next_one_stored(start_hub: StartHub) -> None:
    email = await start_hub()
    broken = mail("no sender", sender="nobody", message_id="<bad@x>")
    good = mail("after the broken one", message_id="<good@x>")
    assert await email.deliver(broken, good) == [250, 250]
    [(_, interaction)] = await email.stored()
    assert interaction["text"] == "after the broken one"
    [kept] = await email.kept()
    assert (kept["channel"], kept["reason"], kept["provider_id"]) == ("email", "no sender address", "bad@x")
    raw = await email.hub.client.get(f"/api/v1/kept-aside/{kept['id']}/body", headers=email.hub.auth)
    # SMTP's DATA ends every message with a line break: the bytes are otherwise exactly those sent.
    assert raw.status == 200 and await raw.read() == broken + b"\r\n"


async def test_a_parser_crash_keeps_the_message_aside_and_stops_nothing(
    start_hub: StartHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = adapter_module.parse_email

    def crashing(raw: bytes, **kwargs: Any) -> ParsedEmail:
        if b"CRASH" in raw:
            raise IndexError("list index out of range")
        return real(raw, **kwargs)

    monkeypatch.setattr(adapter_module, "parse_email", crashing)
    email = await start_hub()
    codes = await email.deliver(mail("CRASH", message_id="<c@x>"), mail("fine", message_id="<f@x>"))
    assert codes == [250, 250]
    assert [i["text"] for _, i in await email.stored()] == ["fine"]
    [kept] = await email.kept()
    assert kept["reason"] == "parser error: IndexError: list index out of range"


async def test_a_failed_store_answers_451_so_the_sender_retries(
    start_hub: StartHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = await start_hub()
    inbox = email.channel.context.inbox

    async def down(messages: Any) -> Any:
        raise ConnectionError("database unavailable")

    raw = mail("retry me", message_id="<retry@x>")
    monkeypatch.setattr(inbox, "ingest", down)
    assert await email.deliver(raw) == [451]
    monkeypatch.undo()
    assert await email.deliver(raw) == [250]
    assert [i["text"] for _, i in await email.stored()] == ["retry me"]


async def test_machine_mail_is_stored_with_its_kind(start_hub: StartHub) -> None:
    email = await start_hub()
    await email.deliver(mail("I am away", headers={"Auto-Submitted": "auto-replied"}, message_id="<ooo@x>"))
    [(_, interaction)] = await email.stored()
    assert interaction["details"]["machine"] == "auto_reply"
    assert interaction["external_message_id"] == "ooo@x"


async def test_sender_is_the_contact_identity(start_hub: StartHub) -> None:
    email = await start_hub()
    await email.deliver(mail("hi", sender=f"Dana Cohen <{CUSTOMER.upper()}>"))
    [(conversation, interaction)] = await email.stored()
    assert conversation["contact_name"] == "Dana Cohen"
    assert interaction["account"] == "support@hub.example"


@pytest.mark.parametrize("message_id", ["<poison@x>", None])
async def test_a_message_that_never_stores_is_kept_aside_after_three_451s(
    start_hub: StartHub, monkeypatch: pytest.MonkeyPatch, message_id: str | None
) -> None:
    email = await start_hub()
    inbox = email.channel.context.inbox
    real = inbox.ingest

    async def refusing(messages: Any) -> Any:
        if any(m.text == "poison" for m in messages):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return await real(messages)

    monkeypatch.setattr(inbox, "ingest", refusing)
    poison = mail("poison", message_id=message_id)
    other = mail("another message", message_id="<other@x>")
    # Without a Message-ID the message is known by its bytes.
    assert await email.deliver(poison, other, poison, poison) == [451, 250, 451, 451]
    assert await email.deliver(poison) == [250]
    [kept] = await email.kept()
    assert kept["reason"] == (
        "could not be stored (4 attempts): ValueError: A string literal cannot contain NUL (0x00) characters."
    )
    assert kept["provider_id"] == (message_id.strip("<>") if message_id else None)
    assert [i["text"] for _, i in await email.stored()] == ["another message"]


async def test_at_most_four_messages_are_worked_on_at_once() -> None:
    release = asyncio.Event()
    inside, most = 0, 0

    async def slow_store(raw: bytes) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await release.wait()
        inside -= 1

    receiver = SmtpReceiver("127.0.0.1", 0, slow_store, hostname="hub.example")
    await receiver.start()
    try:
        sends = [
            asyncio.create_task(_send(receiver.port, mail(f"n{n}", message_id=f"<n{n}@x>"))) for n in range(6)
        ]

        async def four_working_two_waiting() -> bool:
            return (receiver.working, receiver.waiting) == (4, 2)

        await eventually(
            four_working_two_waiting, what="four messages stored at once and two waiting in DATA"
        )
        assert inside == 4
        release.set()
        assert await asyncio.gather(*sends) == [250] * 6
    finally:
        await receiver.close()
    assert most == 4 and (receiver.working, receiver.waiting) == (0, 0)


async def test_mail_received_over_smtp_is_dated_now() -> None:
    inbox = RecordingInbox()
    channel = make_channel(inbox, smtp_listen="127.0.0.1:0")
    await channel.start()
    try:
        assert channel.receiver is not None
        before = utcnow()
        assert await _send(channel.receiver.port, mail("hello", message_id="<now@x>")) == 250
        after = utcnow()
    finally:
        await channel.close()
    [message] = inbox.messages
    assert before <= message.received_at <= after  # not the Date header (2024)
