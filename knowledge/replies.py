"""The extractive suggested reply: the best evidence in its own language, greeting and details filled in.

On SMS-sized channels the article's ``short`` variant is used; elsewhere the matched passage, cleaned of
Markdown and trimmed to whole sentences. Placeholders ``{customer_name}``, ``{product}`` and
``{agreement_end}`` are filled from the customer's record. A missing name just drops out
("Hi {customer_name}," becomes "Hi,"); a sentence needing any other missing value is left out, so no brace
ever reaches a customer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from .bot import Evidence

__all__ = [
    "CLOSINGS",
    "GREETINGS",
    "CustomerDetails",
    "DraftReply",
    "ReplySource",
    "draft_reply",
    "fill_placeholders",
    "format_date",
    "plain_text",
    "trim_to_sentences",
]

ReplySource = Literal["short", "passage", "title"]
DEFAULT_LANGUAGE = "en"
SMS_MAX_CHARS = 300  # the size of an article's short variant (tests/data/README.md)
CHAT_MAX_CHARS = 600

# (with the customer's name, without it)
GREETINGS: Mapping[str, tuple[str, str]] = {
    "en": ("Hi {customer_name},", "Hi,"),
    "he": ("שלום {customer_name},", "שלום,"),
    "fa": ("سلام {customer_name}،", "سلام،"),
    "ar": ("مرحبًا {customer_name}،", "مرحبًا،"),
}
CLOSINGS: Mapping[str, str] = {
    "en": "Is there anything else I can help you with?",
    "he": "אפשר לעזור במשהו נוסף?",
    "fa": "کار دیگری هست که بتوانم برایتان انجام دهم؟",
    "ar": "هل يمكنني مساعدتك في شيء آخر؟",
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NAME_SLOT = re.compile(r"\s*\{customer_name\}")
_SENTENCE_END = re.compile(r"(?<=[.!?؟۔])\s+")
_MARKUP = re.compile(r"\*\*|__|`|^#+\s.*$|^\s*(?:[-*+]|\d+\.)\s+|^>\s*|\\(?=[*_#\\\[\]])", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_QUOTES = "\"'“”„«»"


@dataclass(frozen=True, slots=True)
class CustomerDetails:
    """What the reply may say about the customer, from the 360 view; None where unknown."""

    name: str | None = None
    product: str | None = None
    agreement_end: date | None = None


@dataclass(frozen=True, slots=True)
class DraftReply:
    """A suggested reply: its text, the article it comes from, its language and what was filled in."""

    text: str
    article_slug: str
    language: str
    filled: dict[str, str] = field(default_factory=dict)  # placeholder -> the value written in
    missing: tuple[str, ...] = ()  # placeholders with no value, whose sentences were left out
    source: ReplySource = "passage"  # which text of the article the reply is made of


def format_date(value: date, language: str) -> str:
    """31 Dec 2026 in English; 31/12/2026 in Hebrew, Persian and Arabic."""
    if language == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def _values(customer: CustomerDetails | None, language: str) -> dict[str, str]:
    if customer is None:
        return {}
    raw = {
        "customer_name": customer.name,
        "product": customer.product,
        "agreement_end": format_date(customer.agreement_end, language) if customer.agreement_end else None,
    }
    # A value is the customer's own text: it must not smuggle in a placeholder of its own.
    clean = {
        key: " ".join(value.replace("{", "").replace("}", "").split()) for key, value in raw.items() if value
    }
    return {key: value for key, value in clean.items() if value}


def fill_placeholders(text: str, values: Mapping[str, str]) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """``text`` with placeholders filled: (text, filled, missing); sentences needing a missing value go."""
    filled = _fill(text, values)
    return filled.text, filled.values, filled.missing


@dataclass(frozen=True, slots=True)
class _Filled:
    text: str
    values: dict[str, str]
    missing: tuple[str, ...]
    greets: bool  # a kept sentence had the {customer_name} slot: it is a reply template with its greeting


def _fill(text: str, values: Mapping[str, str]) -> _Filled:
    filled: dict[str, str] = {}
    missing: dict[str, None] = {}  # an ordered set
    kept: list[str] = []
    greets = False
    for sentence in _sentences(text):
        names = _PLACEHOLDER.findall(sentence)
        absent = [name for name in names if name not in values]
        missing.update(dict.fromkeys(absent))
        if any(name != "customer_name" for name in absent):
            continue
        greets = greets or "customer_name" in names
        if absent:
            sentence = _NAME_SLOT.sub("", sentence)  # "Hi {customer_name}," reads fine as "Hi,"
        filled.update({name: values[name] for name in names if name in values})
        kept.append(_PLACEHOLDER.sub(lambda m: values[m.group(1)], sentence))
    return _Filled(" ".join(kept), filled, tuple(missing), greets)


def plain_text(markdown: str) -> str:
    """A passage without Markdown: no headings, emphasis, links, list markers, escapes or outer quotes."""
    out: list[str] = []
    for raw in markdown.splitlines():
        line = _MARKUP.sub("", _LINK.sub(r"\1", raw)).strip()
        if line.startswith("|"):  # a table row: its cells, or nothing for the rule under the header
            line = ", ".join(cell.strip() for cell in line.strip("|").split("|") if cell.strip(" -:"))
        line = line.strip(_QUOTES).strip()
        if not line:
            continue
        # A list item or heading without a full stop would run into the next line as one sentence.
        out.append(line if line[-1] in ".!?؟۔:;," else line + ".")
    return " ".join(out)


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def trim_to_sentences(text: str, max_chars: int) -> str:
    """As many whole sentences from the start of ``text`` as fit in ``max_chars`` (at least one, cut)."""
    kept: list[str] = []
    length = 0
    for sentence in _sentences(text):
        extra = len(sentence) + (1 if kept else 0)
        if kept and length + extra > max_chars:
            break
        kept.append(sentence)
        length += extra
    result = " ".join(kept)
    if len(result) <= max_chars:
        return result
    cut = result[: max_chars - 1].rsplit(" ", 1)[0]  # one sentence longer than allowed: cut at a word
    return cut.rstrip(",;: ") + "…"


def draft_reply(
    evidence: Evidence,
    customer: CustomerDetails | None = None,
    *,
    sms: bool = False,
    max_chars: int | None = None,
) -> DraftReply:
    """The suggested reply from ``evidence``: greeting, its short or trimmed passage, closing (not on SMS)."""
    language = evidence.language if evidence.language in GREETINGS else DEFAULT_LANGUAGE
    limit = max_chars or (SMS_MAX_CHARS if sms else CHAT_MAX_CHARS)
    values = _values(customer, evidence.language)
    candidates: list[tuple[ReplySource, str | None]] = [
        ("short", evidence.short),
        ("passage", plain_text(evidence.passage)),
    ]
    if not sms:
        candidates.reverse()  # the passage is what matched; the short variant is the fallback
    chosen = _Filled(evidence.title, {}, (), greets=False)  # the title, if nothing else is left to say
    source: ReplySource = "title"
    for name, raw in candidates:
        attempt = _fill(trim_to_sentences(raw.strip(), limit), values) if raw else None
        if attempt is not None and attempt.text:
            chosen, source = attempt, name
            break
    filled = dict(chosen.values)
    # A reply template ("Hi {customer_name}, ...") greets the customer itself.
    greeting = "" if chosen.greets else _greeting(language, values)
    if greeting and "customer_name" in values:
        filled = {"customer_name": values["customer_name"], **filled}
    closing = "" if sms else CLOSINGS[language]
    text = "\n\n".join(part for part in (greeting, chosen.text, closing) if part)
    return DraftReply(
        text=text.replace("{", "").replace(
            "}", ""
        ),  # never a brace to the customer, whatever the article says
        article_slug=evidence.slug,
        language=evidence.language,
        filled=filled,
        missing=chosen.missing,
        source=source,
    )


def _greeting(language: str, values: Mapping[str, str]) -> str:
    with_name, without = GREETINGS[language]
    name = values.get("customer_name")
    return with_name.replace("{customer_name}", name) if name else without
