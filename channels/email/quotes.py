"""Trimming quoted history from a reply's plain text. Pure.

email-reply-parser (Zapier's port of GitHub's) drops trailing ``>`` quotes, signatures and English
"On ... wrote:" lines. It knows no other language, so the attribution line that Hebrew, Arabic and Persian
clients (and a few European ones) write above the quote, and Outlook's header block in those languages,
are recognised here.
"""

from __future__ import annotations

import re

from email_reply_parser import EmailReplyParser  # type: ignore[import-untyped]

__all__ = ["trim_quoted"]

# Bidi controls that Gmail wraps around names and dates in RTL attribution lines.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# "X wrote:" in the languages our customers write in: the word, then anything, then a final colon.
_ATTRIBUTION_WORDS = (
    r"wrote",
    r"schrieb",
    r"a écrit",
    r"escribió",
    r"ha scritto",
    r"escreveu",
    r"написал[аи]?",
    r"כתב[הו]?",  # Hebrew: wrote
    r"מאת",  # Hebrew Gmail: "בתאריך ... מאת <name>:" (on <date>, from <name>)
    r"كتب",  # Arabic: wrote
    r"نوشت",  # Persian: wrote
)
_ATTRIBUTION = re.compile(r"(?:^|\s)(?:" + "|".join(_ATTRIBUTION_WORDS) + r")(?:/\S*)?(?:\s.*)?:\s*$")
# Outlook's header block above the quoted message: "From:" then "Sent:"/"Date:" within two lines.
_FROM_LINE = re.compile(r"^\*?(?:From|Von|De|Da|Van|От|מאת|من|از)\s?:\*?\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\*?(?:Sent|Date|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Отправлено|נשלח|תאריך|"
    r"تاريخ الإرسال|أرسلت|التاريخ|ارسال شده|تاریخ)\s?:\*?",
    re.IGNORECASE,
)
# A forward is content, not history: its quoted message is what the customer wants us to read.
_FORWARD = re.compile(
    r"^\s*(?:-+\s*Forwarded message\s*-+|Begin forwarded message:|-+\s*Weitergeleitete Nachricht\s*-+|"
    r"-+\s*Message transféré\s*-+|-+\s*הודעה שהועברה\s*-+|-+\s*رسالة مُعاد توجيهها\s*-+|"
    r"-+\s*پیام هدایت‌شده\s*-+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{3,}\s*[^-\n]*(?:Original|Ursprüngliche|Message d'origine)[^-\n]*-{3,}|_{20,})\s*$"
)


def _outlook_cut(lines: list[str]) -> int | None:
    """Where an Outlook-style quoted message begins (its separator or header block), if anywhere."""
    for index, line in enumerate(lines):
        if index == 0:
            continue
        if _SEPARATOR.match(line):
            return index
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(nxt) for nxt in lines[index + 1 : index + 3]):
            return index
    return None


def _without_attribution(text: str) -> str:
    lines = text.rstrip().split("\n")
    if len(lines) > 1 and _ATTRIBUTION.search(_BIDI.sub("", lines[-1]).strip()):
        lines.pop()
    return "\n".join(lines).rstrip()


def trim_quoted(text: str) -> str:
    """The new text of a reply: quoted history, attribution lines and signatures removed.

    Falls back to the whole text when trimming would leave nothing (a message that is all quote or all
    forward still says something).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _FORWARD.search(text):
        return text.strip()
    lines = text.split("\n")
    cut = _outlook_cut(lines)
    head = "\n".join(lines[:cut]) if cut is not None else text
    # Hidden fragments are the trailing quote and signature; quotes that answers follow stay as context.
    fragments = EmailReplyParser.read(head).fragments
    visible = "\n".join(f.content for f in fragments if not f.hidden)
    had_quote = cut is not None or visible.strip() != head.strip()
    if had_quote:
        visible = _without_attribution(visible)
    return visible.strip() or text.strip()
