"""Machine mail is recognised by each of its signs, and reports update the message they are about."""

from __future__ import annotations

import pytest

from hub.messages import DeliveryStatus
from tests.channels.email.mails import mail, multipart, parse, part


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-replied; owner-email=x@y"}, "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "auto_generated"),
        ({"Auto-Submitted": "auto-notified"}, "auto_generated"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"X-Autorespond": "Out of office"}, "auto_reply"),
        ({"Precedence": "auto_reply"}, "auto_reply"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"Precedence": "list"}, "list"),
        ({"List-Id": "Customers <customers.lists.example>"}, "list"),
        ({"List-Unsubscribe": "<mailto:unsub@lists.example>"}, "list"),
        ({"X-Auto-Response-Suppress": "DR, OOF, AutoReply"}, "auto_reply"),
        ({"X-Auto-Response-Suppress": "All"}, "auto_reply"),
        ({"Return-Path": "<>"}, "auto_generated"),
        ({"X-Failed-Recipients": "gone@example.com"}, "bounce"),
    ],
)
def test_machine_headers(headers: dict[str, str | bytes], kind: str) -> None:
    assert (parse(mail("x", headers=headers)).message.details or {}).get("machine") == kind


@pytest.mark.parametrize(
    "headers",
    [{}, {"Auto-Submitted": "no"}, {"X-Auto-Response-Suppress": "DR"}, {"Return-Path": "<dana@x.com>"}],
)
def test_person_written_mail_is_not_machine_mail(headers: dict[str, str | bytes]) -> None:
    assert "machine" not in (parse(mail("x", headers=headers)).message.details or {})


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example (Mail Delivery System)", "Postmaster <postmaster@mx.example>"]
)
def test_mailer_daemon_and_postmaster_senders_are_bounces(sender: str) -> None:
    assert (parse(mail("x", sender=sender)).message.details or {}).get("machine") == "bounce"


def _dsn(action: str, *, original: bytes, kind: str = "message/rfc822") -> bytes:
    status = (
        "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; gone@example.com\n"
        f"Action: {action}\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n"
    )
    return multipart(
        "report",
        [
            part("Your message could not be delivered.", "text/plain"),
            part(status, "message/delivery-status"),
            part(original, kind),
        ],
        params="; report-type=delivery-status",
        headers={"From": "MAILER-DAEMON@mx.example", "Auto-Submitted": "auto-replied"},
    )


ORIGINAL = mail("our reply", sender="support@hub.example", message_id="<out-1@hub.example>")


def test_dsn_bounce_marks_our_message_failed_and_joins_its_conversation() -> None:
    parsed = parse(_dsn("failed", original=ORIGINAL))
    assert (parsed.message.details or {})["machine"] == "bounce"
    assert parsed.report is not None
    assert parsed.report.external_message_id == "out-1@hub.example"
    assert parsed.report.status is DeliveryStatus.FAILED
    assert parsed.report.error == "gone@example.com: smtp; 550 5.1.1 user unknown"
    assert parsed.message.references[0] == "out-1@hub.example"


def test_dsn_with_only_the_original_headers() -> None:
    headers_only = ORIGINAL.split(b"\r\n\r\n")[0] + b"\r\n"
    parsed = parse(_dsn("failed", original=headers_only, kind="text/rfc822-headers"))
    assert parsed.report is not None and parsed.report.external_message_id == "out-1@hub.example"


def test_delayed_dsn_is_a_delivery_report_without_an_update() -> None:
    parsed = parse(_dsn("delayed", original=ORIGINAL))
    assert (parsed.message.details or {})["machine"] == "delivery_report"
    assert parsed.report is None


def test_delivered_dsn_marks_our_message_delivered() -> None:
    parsed = parse(_dsn("delivered", original=ORIGINAL))
    assert parsed.report is not None and parsed.report.status is DeliveryStatus.DELIVERED


def test_gmail_style_bounce_threads_by_in_reply_to() -> None:
    raw = mail(
        "Address not found. Your message wasn't delivered to gone@example.com",
        sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        headers={"X-Failed-Recipients": "gone@example.com", "In-Reply-To": "<out-2@hub.example>"},
    )
    parsed = parse(raw)
    assert parsed.report is not None
    assert (parsed.report.external_message_id, parsed.report.status) == ("out-2@hub.example", "failed")
    assert parsed.report.error is not None and parsed.report.error.startswith("gone@example.com: Address")


def test_bounce_quoting_the_original_in_its_text() -> None:
    text = "Hi. This is the qmail-send program.\n\n--- Below this line is a copy of the message.\n\n"
    text += "Message-ID: <out-3@hub.example>\nSubject: Re: bill\n"
    parsed = parse(mail(text, sender="MAILER-DAEMON@mx.example"))
    assert parsed.report is not None and parsed.report.external_message_id == "out-3@hub.example"


@pytest.mark.parametrize(("disposition", "read"), [("displayed", True), ("deleted", False)])
def test_read_receipts(disposition: str, read: bool) -> None:
    mdn = (
        "Reporting-UA: mail.example.co.il\nOriginal-Recipient: rfc822;dana@example.co.il\n"
        "Final-Recipient: rfc822;dana@example.co.il\nOriginal-Message-ID: <out-4@hub.example>\n"
        f"Disposition: manual-action/MDN-sent-manually; {disposition}\n"
    )
    raw = multipart(
        "report",
        [part("Your message was read.", "text/plain"), part(mdn, "message/disposition-notification")],
        params="; report-type=disposition-notification",
    )
    parsed = parse(raw)
    assert (parsed.message.details or {})["machine"] == "read_report"
    if read:
        assert parsed.report is not None
        assert (parsed.report.external_message_id, parsed.report.status) == ("out-4@hub.example", "read")
    else:
        assert parsed.report is None


def test_feedback_report_is_a_complaint() -> None:
    raw = multipart(
        "report",
        [part("abuse report", "text/plain"), part("Feedback-Type: abuse\n", "message/feedback-report")],
        params="; report-type=feedback-report",
    )
    parsed = parse(raw)
    assert (parsed.message.details or {})["machine"] == "complaint"
    assert parsed.report is None


def test_machine_mail_keeps_its_whole_text() -> None:
    text = "Out of office until Monday.\n\nOn Tue, Support wrote:\n> your ticket\n"
    message = parse(mail(text, headers={"Auto-Submitted": "auto-replied"})).message
    assert message.text == text.strip()
