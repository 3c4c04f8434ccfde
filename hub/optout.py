"""STOP / START / HELP keywords on SMS and WhatsApp, in the languages our customers write.

A message that is exactly one keyword (case, spacing and punctuation aside) changes the sender's opt-out
state; the hub answers with a confirmation in the keyword's language. The English set is Twilio's
default opt-out keyword list ("Twilio support for opt-out keywords (SMS STOP filtering)"); "הסר" is the
removal word Israeli law (Communications Law §30A) asks senders of ads to honour.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

__all__ = ["KeywordAction", "OptKeyword", "match_keyword"]


class KeywordAction(enum.StrEnum):
    OUT = "out"
    IN = "in"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class OptKeyword:
    """A recognised keyword: what it does and the confirmation to send back."""

    action: KeywordAction
    language: str
    confirmation: str


_KEYWORDS: dict[str, tuple[KeywordAction, str]] = {
    **{
        w: (KeywordAction.OUT, "en")
        for w in ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout")
    },
    **{w: (KeywordAction.IN, "en") for w in ("start", "unstop", "subscribe", "optin")},
    **{w: (KeywordAction.HELP, "en") for w in ("help", "info")},
    **{w: (KeywordAction.OUT, "he") for w in ("הסר", "הסרה", "עצור")},
    **{w: (KeywordAction.IN, "he") for w in ("הרשם", "חידוש")},
    **{w: (KeywordAction.HELP, "he") for w in ("עזרה",)},
    **{w: (KeywordAction.OUT, "fa") for w in ("لغو", "توقف", "لغو عضویت")},
    **{w: (KeywordAction.IN, "fa") for w in ("شروع",)},
    **{w: (KeywordAction.HELP, "fa") for w in ("راهنما",)},
    **{w: (KeywordAction.OUT, "ar") for w in ("إلغاء", "الغاء", "ايقاف", "إيقاف")},
    **{w: (KeywordAction.IN, "ar") for w in ("اشتراك", "ابدأ")},
    **{w: (KeywordAction.HELP, "ar") for w in ("مساعدة",)},
}

_CONFIRMATIONS: dict[tuple[KeywordAction, str], str] = {
    (
        KeywordAction.OUT,
        "en",
    ): "You are unsubscribed and will get no more messages from us. Reply START to resubscribe.",
    (KeywordAction.IN, "en"): "You are subscribed again. Reply STOP to unsubscribe, HELP for help.",
    (KeywordAction.HELP, "en"): "Reply to this message to reach our support team. Reply STOP to unsubscribe.",
    (KeywordAction.OUT, "he"): "הוסרת מרשימת התפוצה ולא תקבל/י מאיתנו הודעות נוספות. לחידוש שלח/י START.",
    (KeywordAction.IN, "he"): "נרשמת מחדש. להסרה שלח/י הסר, לעזרה שלח/י עזרה.",
    (KeywordAction.HELP, "he"): "השב/י להודעה זו כדי להגיע לצוות התמיכה. להסרה שלח/י הסר.",
    (
        KeywordAction.OUT,
        "fa",
    ): "اشتراک شما لغو شد و دیگر پیامی از ما دریافت نمی‌کنید. برای عضویت دوباره START بفرستید.",
    (KeywordAction.IN, "fa"): "دوباره عضو شدید. برای لغو، «لغو» بفرستید.",
    (KeywordAction.HELP, "fa"): "برای ارتباط با پشتیبانی به همین پیام پاسخ دهید. برای لغو، «لغو» بفرستید.",
    (KeywordAction.OUT, "ar"): "تم إلغاء اشتراكك ولن تصلك رسائل منا بعد الآن. أرسل START لإعادة الاشتراك.",
    (KeywordAction.IN, "ar"): "تمت إعادة اشتراكك. أرسل «إلغاء» لإلغاء الاشتراك.",
    (KeywordAction.HELP, "ar"): "رد على هذه الرسالة للتواصل مع فريق الدعم. أرسل «إلغاء» لإلغاء الاشتراك.",
}


def _normalise(text: str) -> str:
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "C", "S")))
    return " ".join(kept.casefold().split())


def match_keyword(text: str | None) -> OptKeyword | None:
    """The keyword ``text`` consists of, or None; longer texts that merely contain one never match."""
    if not text or len(text) > 40:
        return None
    found = _KEYWORDS.get(_normalise(text))
    if found is None:
        return None
    action, language = found
    return OptKeyword(action, language, _CONFIRMATIONS[(action, language)])
