"""Pure helpers for Twilio's form webhooks, the same for messages and calls: no I/O."""

from __future__ import annotations

from typing import Any

import phonenumbers
from multidict import MultiMapping

__all__ = ["Unparseable", "e164", "raw_fields"]


class Unparseable(Exception):
    """Authentic traffic that is not something we store; ``reason`` is short and stable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def e164(value: str) -> str | None:
    """``value`` as E.164 when it is a possible phone number; None for short codes, sender ids,
    ``client:…``, ``anonymous``…"""
    if not value.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def raw_fields(fields: MultiMapping[str]) -> dict[str, Any]:
    """Every field for ``raw``: a repeated field as the list of its values, in order."""
    raw: dict[str, Any] = {}
    for name in fields:
        if name not in raw:
            values = fields.getall(name)
            raw[name] = values[0] if len(values) == 1 else values
    return raw
