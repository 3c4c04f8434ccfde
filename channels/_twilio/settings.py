"""The Twilio credentials both channels read: ``SWITCHBOARD_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN``, …"""

from __future__ import annotations

from dataclasses import dataclass

from channels._twilio.const import TWILIO_API_BASE

__all__ = ["TwilioCredentials"]


@dataclass(frozen=True, slots=True)
class TwilioCredentials:
    """``SWITCHBOARD_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` (required), ``_FROM``, ``_API_BASE``,
    ``_WEBHOOK_SHARED_KEY``; each channel's settings add their own fields."""

    account_sid: str
    auth_token: str
    # ``from`` is a keyword: the hub reads ``from_`` from SWITCHBOARD_TWILIO_FROM.
    from_: str | None = None
    """Our default number (E.164, or ``whatsapp:+…`` for messages): the sender of a reply, or the caller ID
    of a click-to-call, when the customer's identity is not on one of our numbers."""
    api_base: str = TWILIO_API_BASE
    webhook_shared_key: str | None = None
    """SharedKey secret for webhooks signed with ``X-Twilio-Webhooks-Signature-Settings`` (HMAC-SHA256)."""
