"""The hub's SMTP receiver: a real aiosmtpd listener in a started hub, mail sent over SMTP with aiosmtplib."""

from __future__ import annotations

from typing import Any

import pytest

import channels.email.adapter as adapter_module
from channels.email.parse import ParsedEmail
from tests.channels.email.conftest import StartHub
from tests.channels.email.mails import CUSTOMER, HEBREW, mail


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
