"""Quoted history is trimmed from the stored text (in every language we serve) and kept in the raw message."""

from __future__ import annotations

import pytest

from channels.email.quotes import trim_quoted
from tests.channels.email.mails import mail, multipart, parse, part

QUOTE = "> Please try restarting the router.\n> Regards, Support\n"


@pytest.mark.parametrize(
    ("reply", "attribution"),
    [
        ("Thanks, that works.", "On Tue, Mar 5, 2024 at 10:00 AM Support <support@hub.example> wrote:"),
        ("Danke, es geht.", "Am Di., 5. März 2024 um 10:00 Uhr schrieb Support <support@hub.example>:"),
        (
            "תודה, זה עבד!",
            "\u202bבתאריך יום ג׳, 5 במרץ 2024 ב-10:00 מאת \u202aתמיכה\u202c\u200f "
            "<\u202asupport@hub.example\u202c\u200f>:\u202c",
        ),
        ("תודה, זה עבד!", "תמיכה כתב/ה:"),
        ("شكرا، لقد نجح الأمر.", "في الثلاثاء، 5 مارس 2024 في 10:00 ص كتب الدعم <support@hub.example>:"),
        ("ممنون، درست شد.", "در تاریخ سه‌شنبه ۵ مارس ۲۰۲۴ ساعت ۱۰:۰۰ پشتیبانی <support@hub.example> نوشت:"),
    ],
)
def test_attribution_and_quote_are_trimmed(reply: str, attribution: str) -> None:
    assert trim_quoted(f"{reply}\n\n{attribution}\n{QUOTE}") == reply


@pytest.mark.parametrize(
    "header",
    [
        "-----Original Message-----\nFrom: Support\nSent: Tuesday\nTo: Dana\nSubject: Re: bill",
        "________________________________\nFrom: Support <support@hub.example>\nSent: Tuesday, March 5",
        "מאת: תמיכה <support@hub.example>\nנשלח: יום שלישי 5 מרץ 2024 10:00\nאל: דנה\nנושא: חשבונית",
        "من: الدعم <support@hub.example>\nتاريخ الإرسال: الثلاثاء، 5 مارس 2024\nإلى: دانة",
        "از: پشتیبانی <support@hub.example>\nارسال شده: سه‌شنبه ۵ مارس\nبه: دانا",
    ],
)
def test_outlook_header_blocks_are_trimmed(header: str) -> None:
    text = f"The new answer.\n\n{header}\n\nPlease try restarting the router.\n"
    assert trim_quoted(text) == "The new answer."


def test_text_that_is_all_quote_is_kept() -> None:
    assert trim_quoted(QUOTE) == QUOTE.strip()


def test_forwards_are_kept_whole() -> None:
    text = "FYI\n\n---------- Forwarded message ---------\nFrom: Bank <a@bank.example>\nDate: Mon\n\nBill"
    assert trim_quoted(text) == text


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "Dana wrote:\n> Question one?\nAnswer one.\n> Question two?\nAnswer two.\n"
    assert trim_quoted(text) == text.strip()


def test_stored_text_is_trimmed_but_the_raw_message_keeps_the_quote() -> None:
    raw = mail("Thanks!\n\nOn Tue, Support <support@hub.example> wrote:\n> Try again.\n")
    message = parse(raw).message
    assert message.text == "Thanks!"
    original = message.attachments[-1].content
    assert original is not None and b"> Try again." in original


def test_html_only_reply_drops_gmail_and_apple_quotes() -> None:
    html = (
        '<div dir="rtl">תודה רבה</div><div class="gmail_quote"><div class="gmail_attr">בתאריך ... מאת:</div>'
        "<blockquote>ישן</blockquote></div>"
        '<blockquote type="cite">old apple quote</blockquote>'
    )
    message = parse(mail(html, content_type="text/html; charset=utf-8")).message
    assert message.text == "תודה רבה"
    # The sanitized HTML is the message as sent (a console collapses its quotes).
    assert "ישן" in (message.details or {})["html"]


def test_outlook_html_reply_drops_everything_from_its_marker() -> None:
    html = '<div>New answer</div><div id="appendonsend"></div><hr>'
    html += '<div id="divRplyFwdMsg">From: x</div><p>old</p>'
    raw = multipart("alternative", [part(html, "text/html; charset=utf-8")])
    assert parse(raw).message.text == "New answer"
