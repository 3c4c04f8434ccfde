"""A first guess at the language of a customer's message, from its script (no model needed)."""

from __future__ import annotations

__all__ = ["guess_language"]

_PERSIAN_LETTERS = frozenset("پچژگکی")


def guess_language(text: str, default: str = "en") -> str:
    """``he`` for Hebrew letters, ``fa`` or ``ar`` for Arabic script (Persian has letters Arabic lacks)."""
    hebrew = sum("\u0590" <= ch <= "\u05ff" for ch in text)
    arabic = sum("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff" for ch in text)
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    best = max(hebrew, arabic, latin)
    if best == 0:
        return default
    if best == hebrew:
        return "he"
    if best == arabic:
        return "fa" if any(ch in _PERSIAN_LETTERS for ch in text) else "ar"
    return "en"
