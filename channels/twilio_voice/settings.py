"""The phone channel's settings: the shared Twilio credentials plus ``SWITCHBOARD_TWILIO_VOICE_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from channels._twilio.settings import TwilioCredentials

__all__ = ["TwilioVoiceSettings"]


@dataclass(frozen=True, slots=True)
class TwilioVoiceSettings(TwilioCredentials):
    """The shared ``SWITCHBOARD_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` (required), ``_FROM`` (click-to-call's
    caller ID), ``_API_BASE``, ``_WEBHOOK_SHARED_KEY``, and the phone's own ``_VOICE_*``."""

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
