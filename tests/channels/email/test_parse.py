"""Parsing raw mail: charsets, RFC 2047, MIME structure, HTML, attachments, threading, unparseable mail."""

from __future__ import annotations

import base64
import quopri

import pytest

from channels.email.parse import Unparseable, hashed_id, provider_id
from hub.messages import InboundKind
from tests.channels.email.mails import (
    ARABIC,
    CUSTOMER,
    HEBREW,
    OURS,
    PERSIAN,
    encoded_word,
    mail,
    multipart,
    parse,
    part,
)

# -- charsets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "charset", "label"),
    [
        (HEBREW, "cp1255", "windows-1255"),
        (HEBREW, "iso-8859-8", "iso-8859-8"),
        (HEBREW, "iso-8859-8", "iso-8859-8-i"),  # logical order label, unknown to Python's codecs
        (ARABIC, "cp1256", "windows-1256"),
        (ARABIC, "iso-8859-6", "iso-8859-6"),
        (PERSIAN, "cp1256", "windows-1256"),
        (HEBREW, "utf-8", "utf-8"),
    ],
)
def test_declared_charsets_decode_8bit_bodies(text: str, charset: str, label: str) -> None:
    raw = mail(text.encode(charset), content_type=f"text/plain; charset={label}", cte="8bit")
    assert parse(raw).message.text == text


@pytest.mark.parametrize("charset", ["windows-1255", "iso-8859-8"])
def test_quoted_printable_and_base64_bodies(charset: str) -> None:
    data = HEBREW.encode(charset)
    content_type = f"text/plain; charset={charset}"
    qp = mail(quopri.encodestring(data), content_type=content_type, cte="quoted-printable")
    b64 = mail(base64.encodebytes(data), content_type=content_type, cte="base64")
    assert parse(qp).message.text == HEBREW
    assert parse(b64).message.text == HEBREW


@pytest.mark.parametrize(("text", "charset"), [(HEBREW, "windows-1255"), (ARABIC, "windows-1256")])
def test_rfc2047_subject_and_sender_in_legacy_charsets(text: str, charset: str) -> None:
    subject = text.split(",")[0]
    raw = mail(
        "Hi",
        subject=encoded_word(subject, charset),
        sender=f"{encoded_word('דנה כהן', 'iso-8859-8')} <{CUSTOMER}>",
    )
    message = parse(raw).message
    assert message.subject == subject
    assert message.sender_hints.display_name == "דנה כהן"
    assert message.sender_hints.email == CUSTOMER


def test_rfc2047_display_name_with_a_comma_stays_one_address() -> None:
    raw = mail("Hi", sender="=?UTF-8?B?Rm9vLCBCYXI=?= <foo.bar@example.com>")
    message = parse(raw).message
    assert message.identity.external_id == "foo.bar@example.com"
    assert message.sender_hints.display_name == "Foo, Bar"


def test_undeclared_8bit_utf8_body() -> None:
    raw = mail(HEBREW.encode("utf-8"), content_type="text/plain", cte="8bit")
    assert parse(raw).message.text == HEBREW


@pytest.mark.parametrize(("text", "charset"), [(HEBREW, "cp1255"), (ARABIC, "cp1256")])
def test_undeclared_8bit_legacy_body_is_detected(text: str, charset: str) -> None:
    raw = mail(text.encode(charset), content_type="text/plain; charset=us-ascii", cte="8bit")
    assert parse(raw).message.text == text


def test_raw_8bit_subject_takes_the_body_charset() -> None:
    # No RFC 2047: the Subject's bytes are windows-1255, which only the body's declaration tells.
    raw = mail(
        HEBREW.encode("cp1255"),
        subject="בעיה בחשבונית".encode("cp1255"),
        sender="דנה <dana@example.co.il>".encode("cp1255"),
        content_type="text/plain; charset=windows-1255",
        cte="8bit",
    )
    message = parse(raw).message
    assert message.subject == "בעיה בחשבונית"
    assert message.sender_hints.display_name == "דנה"


def test_raw_8bit_utf8_subject() -> None:
    raw = mail("Hi", subject="سلام دوست من".encode())
    assert parse(raw).message.subject == "سلام دوست من"


def test_unknown_charset_label_falls_back_to_detection() -> None:
    raw = mail(HEBREW.encode("utf-8"), content_type="text/plain; charset=x-no-such-charset", cte="8bit")
    assert parse(raw).message.text == HEBREW


# -- HTML ------------------------------------------------------------------------------------------------

_HTML = (
    '<html><head><title>t</title><style>p{color:red}</style></head><body dir="rtl">'
    '<p onclick="steal()">שלום <b>עולם</b></p><script>alert(1)</script>'
    '<img src="https://tracker.example/p.gif"><img src="cid:logo@x" alt="logo">'
    '<a href="javascript:alert(1)">x</a><a href="https://example.com/a">link</a></body></html>'
)


def test_html_only_mail_stores_plain_text_and_sanitized_html() -> None:
    raw = mail(_HTML.encode(), content_type="text/html; charset=utf-8")
    message = parse(raw).message
    assert message.text == "שלום עולם\n\nxlink"
    html = (message.details or {})["html"]
    assert "<b>עולם</b>" in html
    for unsafe in ("script", "alert", "onclick", "steal", "tracker.example", "color:red", "javascript"):
        assert unsafe not in html
    assert 'src="cid:logo@x"' in html
    assert 'href="https://example.com/a"' in html


def test_html_keeps_text_direction() -> None:
    raw = mail('<div dir="rtl" lang="he">שלום</div>'.encode(), content_type="text/html; charset=utf-8")
    assert (parse(raw).message.details or {})["html"] == '<div dir="rtl" lang="he">שלום</div>'


def test_html_without_mime_charset_uses_its_meta_charset() -> None:
    html = '<html><head><meta charset="windows-1256"></head><body>' + ARABIC + "</body></html>"
    raw = mail(html.encode("cp1256"), content_type="text/html", cte="8bit")
    assert parse(raw).message.text == ARABIC


# -- MIME structure --------------------------------------------------------------------------------------


def test_alternative_takes_plain_text_and_html_without_duplicating_them() -> None:
    raw = multipart(
        "alternative",
        [part("plain words", "text/plain; charset=utf-8"), part("<p>html words</p>", "text/html")],
    )
    message = parse(raw).message
    assert message.text == "plain words"
    assert (message.details or {})["html"] == "<p>html words</p>"
    assert [a.filename for a in message.attachments] == ["original.eml"]


def test_related_inline_image_is_kept_with_its_content_id() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    related = multipart(
        "related",
        [
            part('<p>see <img src="cid:img1@x"></p>', "text/html; charset=utf-8"),
            part(
                base64.encodebytes(png),
                "image/png",
                Content_ID="<img1@x>",
                Content_Transfer_Encoding="base64",
                Content_Disposition='inline; filename="chart.png"',
            ),
        ],
        boundary="rel",
    )
    inner = related.split(b"\r\n\r\n", 1)
    content_type = b'Content-Type: multipart/related; boundary="rel"'
    raw = multipart(
        "alternative",
        [part("see the chart", "text/plain"), content_type + b"\r\n\r\n" + inner[1]],
    )
    message = parse(raw).message
    assert message.text == "see the chart"
    image = message.attachments[0]
    assert (image.content_type, image.filename, image.media_id, image.content) == (
        "image/png",
        "chart.png",
        "img1@x",
        png,
    )
    assert 'src="cid:img1@x"' in (message.details or {})["html"]


def test_mixed_attachments_keep_names_and_types() -> None:
    pdf = b"%PDF-1.4 fake"
    raw = multipart(
        "mixed",
        [
            part("invoice attached", "text/plain; charset=utf-8"),
            part(
                base64.encodebytes(pdf),
                'application/pdf; name="x.pdf"',
                Content_Transfer_Encoding="base64",
                Content_Disposition="attachment; filename*=UTF-8''"
                + "%D7%97%D7%A9%D7%91%D7%95%D7%A0%D7%99%D7%AA.pdf",
            ),
            part(
                "a,b\n1,2\n",
                "text/csv",
                Content_Disposition='attachment; filename="../../etc/data.csv"',
            ),
        ],
    )
    message = parse(raw).message
    files = [(a.content_type, a.filename, a.content) for a in message.attachments]
    assert files[0] == ("application/pdf", "חשבונית.pdf", pdf)
    assert files[1][:2] == ("text/csv", "data.csv")
    assert files[2][:2] == ("message/rfc822", "original.eml")
    assert message.kind is InboundKind.TEXT


def test_attachment_only_mail_is_media() -> None:
    raw = multipart(
        "mixed",
        [part(base64.encodebytes(b"img"), "image/jpeg", Content_Transfer_Encoding="base64")],
    )
    message = parse(raw).message
    assert message.kind is InboundKind.MEDIA
    assert message.text is None


def test_attached_message_is_kept_whole() -> None:
    inner = mail("the forwarded one", message_id="<inner@x>")
    raw = multipart("mixed", [part("see below", "text/plain"), part(inner, "message/rfc822")])
    message = parse(raw).message
    attached = message.attachments[0]
    assert attached.content_type == "message/rfc822"
    assert attached.content is not None and b"the forwarded one" in attached.content
    assert message.text == "see below"


def test_raw_message_is_attached_untouched() -> None:
    raw = mail(f"{HEBREW}\n\nOn Mon, Support <{OURS}> wrote:\n> old text\n")
    original = parse(raw).message.attachments[-1]
    assert (original.content_type, original.filename, original.content) == (
        "message/rfc822",
        "original.eml",
        raw,
    )


# -- threading -------------------------------------------------------------------------------------------


def test_reply_threading_ids() -> None:
    raw = mail(
        "ok",
        message_id="<c3@example.co.il>",
        headers={"In-Reply-To": "<b2@hub.example>", "References": "<a1@example.co.il>\r\n <b2@hub.example>"},
    )
    message = parse(raw).message
    assert message.external_message_id == "c3@example.co.il"
    assert message.references == ("b2@hub.example", "a1@example.co.il")
    assert message.thread_key == "a1@example.co.il"
    assert message.reply_to_external_id == "b2@hub.example"


def test_in_reply_to_only_and_ids_without_at_sign() -> None:
    raw = mail("ok", message_id="<c3@x>", headers={"In-Reply-To": "<test-in-reply-to>"})
    message = parse(raw).message
    assert message.references == ("test-in-reply-to",)
    assert message.thread_key == "test-in-reply-to"


def test_empty_in_reply_to_starts_a_thread_of_its_own() -> None:
    message = parse(mail("ok", message_id="<c3@x>", headers={"In-Reply-To": ""})).message
    assert (message.references, message.thread_key, message.reply_to_external_id) == ((), "c3@x", None)


def test_message_without_message_id_gets_a_stable_hash_id() -> None:
    raw = mail("no id here", message_id=None)
    first, again = parse(raw).message, parse(raw).message
    assert first.external_message_id == again.external_message_id == hashed_id(raw)
    assert parse(mail("other text", message_id=None)).message.external_message_id != hashed_id(raw)
    assert first.thread_key == first.external_message_id


def test_identity_is_our_mailbox_and_the_lower_cased_sender() -> None:
    message = parse(mail("x", sender="Dana <Dana@Example.CO.IL>")).message
    assert (message.identity.channel, message.identity.account, message.identity.external_id) == (
        "email",
        OURS,
        "dana@example.co.il",
    )
    assert message.sender_hints.verified is False


# -- unparseable -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b"\r\n \r\n", "empty message"),
        (b"this is not a mail at all\r\n", "malformed: no headers"),
        (mail("x", sender="undisclosed"), "no sender address"),
        (mail("x", sender=f"Us <{OURS.upper()}>"), "sent from our own address"),
    ],
)
def test_unparseable_mail_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(Unparseable) as caught:
        parse(raw)
    assert caught.value.reason == reason


def test_provider_id_of_raw_mail() -> None:
    assert provider_id(mail("x", message_id="<abc@x>")) == "abc@x"
    assert provider_id(b"garbage") is None
