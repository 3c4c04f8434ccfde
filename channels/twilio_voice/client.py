"""Calls and recordings through twilio-python's async client, and recording downloads.

The client itself, its API base and its error mapping (429, 5xx, timeouts temporary; the rest permanent)
are the Twilio channels' shared ``channels._twilio``.
"""

from __future__ import annotations

from typing import Any

from channels._twilio.client import TwilioClient
from channels.twilio_voice.const import CURRENT_RECORDING

__all__ = ["TwilioVoiceClient"]


class TwilioVoiceClient(TwilioClient):
    """Places and steers calls, pauses recordings, downloads recordings, for one Twilio account."""

    noun = "recording"

    async def create_call(self, **params: Any) -> str:
        """``POST …/Calls.json``; the new call's SID."""
        call = await self.call(lambda c: c.calls.create_async(**params))
        return str(call.sid)

    async def update_call(self, call_sid: str, *, twiml: str) -> str:
        """``POST …/Calls/{sid}.json`` with new TwiML: the live call leaves what it was doing."""
        call = await self.call(lambda c: c.calls(call_sid).update_async(twiml=twiml))
        return str(call.sid)

    async def set_recording(self, call_sid: str, *, paused: bool) -> str:
        """Pause (skipping the paused audio) or resume the call's active recording; its new status."""
        params = {"status": "paused", "pause_behavior": "skip"} if paused else {"status": "in-progress"}
        recording = await self.call(
            lambda c: c.calls(call_sid).recordings(CURRENT_RECORDING).update_async(**params)
        )
        return str(recording.status)
