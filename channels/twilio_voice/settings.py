"""The phone channel's settings: the SMS channel's Twilio credentials plus ``SWITCHBOARD_TWILIO_VOICE_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from channels.twilio_voice.const import TWILIO_API_BASE

__all__ = ["TwilioVoiceSettings"]


@dataclass(frozen=True, slots=True)
class TwilioVoiceSettings:
    """The SMS channel's ``SWITCHBOARD_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` (required), ``_FROM``,
    ``_API_BASE``, ``_WEBHOOK_SHARED_KEY``, and the phone's own ``_VOICE_*``."""

    account_sid: str
    auth_token: str
    from_: str | None = None
    """Caller ID for click-to-call when the customer's identity is not on one of our numbers."""
    api_base: str = TWILIO_API_BASE
    webhook_shared_key: str | None = None
    voice_language: str = "en-US"
    """Language of the prompts, <Say> and speech recognition: ``en``, ``he``, ``ar``, ``fa`` or a locale."""
    voice_greeting: str | None = None
    """Replaces the built-in greeting (it should ask what the call is about)."""
    voice_queue: str = "support"
    voice_voicemail_after_s: Annotated[int, Field(ge=10, le=3600)] = 120
    voice_record: bool = False
    """Record calls put through to agents (callers hear a notice first)."""
    voice_menu: str | None = None
    """Keypad topics, ``1=Billing|2=Technical support``."""
    voice_bot: bool = True
    """Speak the knowledge base's answer when it has a confident one."""
    voice_tts_voice: str | None = None
    """<Say voice> (``Google.he-IL-Standard-A``, ``Polly.Hala-Neural``...); Twilio's default when unset."""
