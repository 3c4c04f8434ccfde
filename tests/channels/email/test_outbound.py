"""Our replies through a real SMTP server on loopback: threading headers, STARTTLS, implicit TLS, AUTH."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest

from channels.email.compose import compose_reply, reply_subject
from hub.errors import PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, OutboundMessage
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import SMTP_PASSWORD, SMTP_USER, StartSmtp, make_channel
from tests.channels.email.mails import CUSTOMER, HEBREW, OURS


def reply(**fields: object) -> OutboundMessage:
    values: dict[str, object] = {
        "interaction_id": "42",
        "conversation_id": "7",
        "recipient": ExternalIdentity("email", OURS, CUSTOMER),
        "idempotency_key": "42",
        "text": HEBREW,
        "subject": "בעיה בחשבונית",
        "references": ("a1@example.co.il", "sb.40.x@hub.example", "c3@example.co.il"),
        "reply_to_external_id": "c3@example.co.il",
        "author_name": "Noa",
        **fields,
    }
    return OutboundMessage(**values)  # type: ignore[arg-type]


async def test_reply_threads_with_the_customers_mail(start_smtp: StartSmtp) -> None:
    server = await start_smtp()
    channel = make_channel(
        RecordingInbox(), smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"
    )
    result = await channel.send(reply())
    [received] = server.received
    mail = received.message
    assert received.rcpt_tos == [CUSTOMER]
    assert mail["Message-ID"] == f"<{result.external_message_id}>"
    assert result.external_message_id.startswith("sb.42.") and result.external_message_id.endswith(
        "@hub.example"
    )
    assert mail["In-Reply-To"] == "<c3@example.co.il>"
    assert mail["References"] == "<a1@example.co.il> <sb.40.x@hub.example> <c3@example.co.il>"
    assert mail["Subject"] == "Re: בעיה בחשבונית"
    assert mail["From"].addresses[0].addr_spec == OURS
    assert mail["From"].addresses[0].display_name == "Noa"
    assert mail.get_body(("plain",)).get_content().strip() == HEBREW
    assert received.raw.isascii()  # 7-bit transfer encoding: any relay takes it


async def test_a_retried_send_keeps_its_message_id(start_smtp: StartSmtp) -> None:
    server = await start_smtp()
    channel = make_channel(
        RecordingInbox(), smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"
    )
    first = await channel.send(reply())
    again = await channel.send(reply())
    assert first == again
    assert len(server.received) == 2


async def test_starttls_with_auth(start_smtp: StartSmtp, server_tls: ssl.SSLContext, ca_file: str) -> None:
    server = await start_smtp(starttls=server_tls, auth=True)
    channel = make_channel(
        RecordingInbox(),
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="starttls",
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        smtp_ca_file=ca_file,
    )
    await channel.send(reply())
    assert len(server.received) == 1
    assert server.logins


async def test_wrong_password_keeps_the_reply_queued(
    start_smtp: StartSmtp, server_tls: ssl.SSLContext, ca_file: str
) -> None:
    server = await start_smtp(starttls=server_tls, auth=True)
    channel = make_channel(
        RecordingInbox(),
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_user=SMTP_USER,
        smtp_password="wrong",
        smtp_ca_file=ca_file,
    )
    with pytest.raises(TemporarySendError, match="login refused"):
        await channel.send(reply())
    assert server.received == []


async def test_untrusted_certificate_is_refused(start_smtp: StartSmtp, server_tls: ssl.SSLContext) -> None:
    server = await start_smtp(starttls=server_tls)
    channel = make_channel(RecordingInbox(), smtp_host="127.0.0.1", smtp_port=server.port)
    with pytest.raises(TemporarySendError):
        await channel.send(reply())
    assert server.received == []


async def test_implicit_tls(start_smtp: StartSmtp, server_tls: ssl.SSLContext, ca_file: str) -> None:
    server = await start_smtp(implicit_tls=server_tls)
    channel = make_channel(
        RecordingInbox(),
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="tls",
        smtp_ca_file=ca_file,
    )
    await channel.send(reply())
    assert len(server.received) == 1


async def test_refused_recipient_is_permanent(start_smtp: StartSmtp) -> None:
    server = await start_smtp()
    server.refuse[CUSTOMER] = "550 5.1.1 no such user"
    channel = make_channel(
        RecordingInbox(), smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"
    )
    with pytest.raises(PermanentSendError) as caught:
        await channel.send(reply())
    assert caught.value.provider_code == "550"


async def test_busy_recipient_is_temporary(start_smtp: StartSmtp) -> None:
    server = await start_smtp()
    server.refuse[CUSTOMER] = "451 4.2.0 try later"
    channel = make_channel(
        RecordingInbox(), smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none"
    )
    with pytest.raises(TemporarySendError):
        await channel.send(reply())


async def test_unreachable_server_is_temporary(start_smtp: StartSmtp) -> None:
    server = await start_smtp()
    port = server.port
    channel = make_channel(RecordingInbox(), smtp_host="127.0.0.1", smtp_port=port + 1, smtp_security="none")
    with pytest.raises(TemporarySendError):
        await channel.send(reply())


async def test_without_smtp_host_nothing_can_be_sent() -> None:
    with pytest.raises(PermanentSendError) as caught:
        await make_channel(RecordingInbox()).send(reply())
    assert caught.value.code == "no_sender"


NOW = datetime(2024, 3, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Invoice", "Re: Invoice"),
        ("RE: Invoice", "RE: Invoice"),
        ("Aw: Rechnung", "Aw: Rechnung"),
        (None, None),
    ],
)
def test_reply_subject(subject: str | None, expected: str | None) -> None:
    assert reply_subject(subject) == expected


def test_first_message_without_references_has_no_threading_headers() -> None:
    mail, message_id = compose_reply(
        reply(references=(), reply_to_external_id=None), from_address=OURS, domain="hub.example", now=NOW
    )
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert mail["Message-ID"] == f"<{message_id}>"


def test_long_threads_keep_the_root_and_the_latest_references() -> None:
    ids = tuple(f"m{i}@x" for i in range(40))
    mail, _ = compose_reply(
        reply(references=ids, reply_to_external_id=None), from_address=OURS, domain="hub.example", now=NOW
    )
    kept = str(mail["References"]).split()
    assert kept[0] == "<m0@x>" and kept[-1] == "<m39@x>" and len(kept) == 20
    assert mail["In-Reply-To"] == "<m39@x>"


def test_files_go_inline_or_as_links() -> None:
    message = reply(
        attachments=(
            Attachment("application/pdf", filename="bill.pdf", content=b"%PDF"),
            Attachment("image/png", url="https://files.example/a.png", filename="a.png"),
        )
    )
    mail, _ = compose_reply(message, from_address=OURS, domain="hub.example", now=NOW)
    [attached] = list(mail.iter_attachments())
    assert (attached.get_filename(), attached.get_content()) == ("bill.pdf", b"%PDF")
    assert "a.png: https://files.example/a.png" in mail.get_body(("plain",)).get_content()


def test_templates_are_refused() -> None:
    with pytest.raises(PermanentSendError):
        compose_reply(reply(template={"name": "x"}), from_address=OURS, domain="hub.example", now=NOW)


def test_the_bots_answers_say_they_are_automatic_and_a_persons_do_not() -> None:
    automatic, _ = compose_reply(reply(automatic=True), from_address=OURS, domain="hub.example", now=NOW)
    person, _ = compose_reply(reply(), from_address=OURS, domain="hub.example", now=NOW)
    assert automatic["Auto-Submitted"] == "auto-replied"
    assert person["Auto-Submitted"] is None
