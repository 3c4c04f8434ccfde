"""The IVR's TwiML, built with twilio-python's VoiceResponse. Pure: URLs and texts in, XML out.

Verbs and attributes: Twilio docs "TwiML Voice: <Say>", "<Gather>", "<Enqueue>", "<Leave>", "<Record>",
"<Dial>". Every URL is absolute, so Twilio calls back exactly the URL it will sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse  # type: ignore[import-untyped]

from channels.twilio_voice.const import DIAL_RECORD, MAX_WAIT_PAUSE_S, VOICEMAIL_MAX_LENGTH_S

__all__ = [
    "Speaker",
    "answer_twiml",
    "dial_twiml",
    "empty_twiml",
    "enqueue_twiml",
    "goodbye_twiml",
    "greeting_twiml",
    "voicemail_twiml",
    "wait_twiml",
]


@dataclass(frozen=True, slots=True)
class Speaker:
    """How the IVR speaks: the locale for <Say> and speech recognition, the TTS voice, the prompts."""

    locale: str
    tts_voice: str | None
    prompts: Mapping[str, str]

    def say(self, parent: VoiceResponse | Gather, text: str) -> None:
        """Speak ``text`` in the configured language."""
        parent.say(text, language=self.locale, voice=self.tts_voice)

    def prompt(self, parent: VoiceResponse | Gather, key: str) -> None:
        """Speak one of the prompts (``greeting``, ``wait``...)."""
        self.say(parent, self.prompts[key])


def empty_twiml() -> str:
    """``<Response/>``: nothing more to do on this call."""
    return str(VoiceResponse())


def greeting_twiml(
    speaker: Speaker,
    *,
    gather_url: str,
    greeting: str | None,
    recording_notice: bool,
    menu: Mapping[str, str],
) -> str:
    """Greet (after the recording notice when calls are recorded) and ask what the call is about, by
    speech or keypad; ``actionOnEmptyResult`` posts even when the caller says nothing."""
    response = VoiceResponse()
    if recording_notice:
        speaker.prompt(response, "recording_notice")
    gather = response.gather(
        input="speech dtmf",
        action=gather_url,
        method="POST",
        language=speaker.locale,
        speech_timeout="auto",
        num_digits=1 if menu else None,
        action_on_empty_result=True,
    )
    speaker.say(gather, greeting or speaker.prompts["greeting"])
    for digit, label in menu.items():
        speaker.say(gather, speaker.prompts["menu_option"].format(label=label, digit=digit))
    return str(response)


def answer_twiml(speaker: Speaker, answer: str, *, feedback_url: str) -> str:
    """Speak the knowledge base's answer, then ask whether it helped (1/yes ends the call)."""
    response = VoiceResponse()
    speaker.say(response, answer)
    gather = response.gather(
        input="speech dtmf",
        action=feedback_url,
        method="POST",
        language=speaker.locale,
        speech_timeout="auto",
        num_digits=1,
        action_on_empty_result=True,
    )
    speaker.prompt(gather, "did_it_help")
    return str(response)


def enqueue_twiml(speaker: Speaker, *, queue: str, action_url: str, wait_url: str) -> str:
    """Put the caller in the agents' queue; ``wait_url`` plays while waiting, ``action_url`` hears the end."""
    response = VoiceResponse()
    speaker.prompt(response, "connecting")
    response.enqueue(queue, action=action_url, method="POST", wait_url=wait_url, wait_url_method="POST")
    return str(response)


def wait_twiml(speaker: Speaker, *, queue_time_s: int, leave_after_s: int) -> str:
    """What a queued caller hears; Twilio fetches it again when it ends. ``<Leave/>`` once the caller has
    waited ``leave_after_s``: the Enqueue action then offers voicemail."""
    response = VoiceResponse()
    remaining = leave_after_s - queue_time_s
    if remaining <= 0:
        response.leave()
        return str(response)
    speaker.prompt(response, "wait")
    response.pause(length=max(1, min(remaining, MAX_WAIT_PAUSE_S)))
    return str(response)


def voicemail_twiml(
    speaker: Speaker, *, action_url: str, recording_callback: str, transcription_callback: str | None
) -> str:
    """Ask for a message and record it; the recording (and transcript) come back to their callbacks."""
    response = VoiceResponse()
    speaker.prompt(response, "voicemail")
    response.record(
        action=action_url,
        method="POST",
        max_length=VOICEMAIL_MAX_LENGTH_S,
        play_beep=True,
        recording_status_callback=recording_callback,
        recording_status_callback_method="POST",
        transcribe=transcription_callback is not None,
        transcribe_callback=transcription_callback,
    )
    return str(response)


def goodbye_twiml(speaker: Speaker, key: str = "goodbye") -> str:
    """Say goodbye and hang up."""
    response = VoiceResponse()
    speaker.prompt(response, key)
    response.hangup()
    return str(response)


def dial_twiml(
    target: str,
    *,
    record: bool,
    recording_callback: str | None,
    action_url: str | None,
    notice: Speaker | None = None,
) -> str:
    """Put the call through to ``target``: ``client:<identity>``, ``sip:<uri>`` or a phone number.

    Recorded from answer, both sides on their own channel; a recording started by <Dial record> can be
    paused and resumed through the Recordings API (Twilio support: "Getting Started with Call Recording
    Controls"). ``notice`` speaks the recording notice first (a call we place).
    """
    response = VoiceResponse()
    if notice is not None and record:
        notice.prompt(response, "recording_notice")
    dial: Dial = response.dial(
        action=action_url,
        method="POST" if action_url else None,
        answer_on_bridge=True,
        record=DIAL_RECORD if record else None,
        recording_status_callback=recording_callback if record else None,
        recording_status_callback_method="POST" if record and recording_callback else None,
    )
    if target.startswith("client:"):
        dial.client(target.removeprefix("client:"))
    elif target.startswith("sip:"):
        dial.sip(target)
    else:
        dial.number(target)
    return str(response)
