"""Pure parsing of Twilio's voice webhooks: form fields (and our own signed query) in, InboundMessages out.

Every event of a call is stored under the call's identity and thread, each with its own stable id, so a
webhook Twilio retries is stored once. Field lists: Twilio docs "Voice Webhooks", "TwiML Voice: <Gather>",
"<Enqueue>", "<Dial>", "<Record>" (shared PROVIDERS.md, "Voice webhooks"). Unknown fields are kept in ``raw``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from multidict import MultiMapping

from channels._twilio.parse import Unparseable, e164, raw_fields
from channels.twilio_voice.const import (
    ACCOUNT_PARAM,
    CALL_STATUSES,
    CUSTOMER_PARAM,
    FINAL_CALL_STATUSES,
    NAME,
    NO_WORDS,
    RECORDING_CONTENT_TYPE,
    RESOLVED_DIGIT,
    UNANSWERED_DIAL_STATUSES,
    VOICEMAIL_QUEUE_RESULTS,
    YES_WORDS,
)
from hub.messages import Attachment, ExternalIdentity, InboundKind, InboundMessage, SenderHints

__all__ = [
    "CallRef",
    "call_event",
    "call_ref",
    "is_resolved",
    "parse_dial_result",
    "parse_gather",
    "parse_incoming_call",
    "parse_menu",
    "parse_queue_result",
    "parse_recording",
    "parse_status",
    "parse_transcription",
]

Fields = MultiMapping[str]

_REASON_VALUE_LIMIT = 40
_MENU_ITEM = re.compile(r"\s*([0-9])\s*=\s*(.*\S)\s*")
_WORD = re.compile(r"\w+")


def _get(fields: Fields, name: str) -> str | None:
    value = fields.get(name)
    return value.strip() if value and value.strip() else None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _address(value: str) -> str:
    return e164(value) or value


@dataclass(frozen=True, slots=True)
class CallRef:
    """Which call, and whose: every event of the call is stored under this identity, threaded by CallSid."""

    call_sid: str
    identity: ExternalIdentity
    raw: dict[str, Any]

    @property
    def hints(self) -> SenderHints:
        phone = e164(self.identity.external_id)
        return SenderHints(phone=phone, verified=phone is not None)


def call_ref(fields: Fields, query: Fields) -> CallRef:
    """The call a webhook is about. Our callback URLs name the identity (``?account=&customer=``), since
    recording callbacks carry no From/To; otherwise the caller of an inbound call is ``From`` and our number
    ``To``, and the other way round for calls we placed (``Direction`` ``outbound-api``/``outbound-dial``)."""
    sid = _get(fields, "CallSid")
    if sid is None:
        raise Unparseable("malformed: missing CallSid")
    account, customer = _get(query, ACCOUNT_PARAM), _get(query, CUSTOMER_PARAM)
    if account is None or customer is None:
        inbound = (_get(fields, "Direction") or "inbound") == "inbound"
        ours, theirs = ("To", "From") if inbound else ("From", "To")
        account, customer = _get(fields, ours), _get(fields, theirs)
        if customer is None:
            raise Unparseable(f"malformed: missing {theirs}")
        if account is None:
            raise Unparseable(f"malformed: missing {ours}")
    identity = ExternalIdentity(NAME, _address(account), _address(customer))
    return CallRef(sid, identity, raw_fields(fields))


def call_event(
    ref: CallRef,
    key: str,
    details: dict[str, Any],
    *,
    received_at: datetime,
    kind: InboundKind = InboundKind.CALL,
    text: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> InboundMessage:
    """One event of the call as its own message, ``<CallSid>:<key>``, in the call's conversation."""
    return InboundMessage(
        identity=ref.identity,
        external_message_id=f"{ref.call_sid}:{key}",
        thread_key=ref.call_sid,
        kind=kind,
        received_at=received_at,
        text=text,
        attachments=attachments,
        sender_hints=ref.hints,
        raw=ref.raw,
        details={k: v for k, v in details.items() if v is not None},
    )


def parse_incoming_call(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage:
    """The number's voice URL was called: the call itself, stored under its CallSid before we answer."""
    ref = call_ref(fields, query)
    hints = ref.hints
    details = {
        "direction": _get(fields, "Direction") or "inbound",
        "call_status": _get(fields, "CallStatus") or "ringing",
        "caller_name": _get(fields, "CallerName"),
        "forwarded_from": _get(fields, "ForwardedFrom"),
        "stir_verstat": _get(fields, "StirVerstat"),
    }
    return InboundMessage(
        identity=ref.identity,
        external_message_id=ref.call_sid,
        thread_key=ref.call_sid,
        kind=InboundKind.CALL,
        received_at=received_at,
        # CallerName is the carrier's CNAM lookup: a hint, like any display name.
        sender_hints=SenderHints(_get(fields, "CallerName"), hints.phone, verified=hints.verified),
        raw=ref.raw,
        details={k: v for k, v in details.items() if v is not None},
    )


def parse_menu(value: str | None) -> dict[str, str]:
    """``"1=Billing|2=Technical support"`` as ``{"1": "Billing", ...}``; ValueError naming the problem."""
    menu: dict[str, str] = {}
    for item in (value or "").split("|"):
        if not item.strip():
            continue
        match = _MENU_ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"{item.strip()!r} is not '<digit>=<topic>' (items separated by '|')")
        digit, label = match.groups()
        if digit in menu:
            raise ValueError(f"digit {digit} is given twice")
        menu[digit] = label
    return menu


def parse_gather(
    fields: Fields, query: Fields, menu: dict[str, str], *, received_at: datetime
) -> InboundMessage | None:
    """What the caller said (``SpeechResult``) or pressed (``Digits``, a menu topic when configured) when
    asked what the call is about; None when the Gather timed out with neither."""
    ref = call_ref(fields, query)
    speech, digits = _get(fields, "SpeechResult"), _get(fields, "Digits")
    if speech is not None:
        confidence = _get(fields, "Confidence")
        try:
            score = float(confidence) if confidence is not None else None
        except ValueError:
            score = None
        details: dict[str, Any] = {"input": "speech", "speech_confidence": score}
        return call_event(ref, "gather", details, received_at=received_at, kind=InboundKind.TEXT, text=speech)
    if digits is not None:
        topic = menu.get(digits)
        details = {"input": "dtmf", "digits": digits, "topic": topic}
        text = topic or digits
        return call_event(ref, "gather", details, received_at=received_at, kind=InboundKind.TEXT, text=text)
    return None


def is_resolved(fields: Fields, language: str) -> bool:
    """Whether the caller answered "did that help?" with 1 or a yes (and no "no" or "agent")."""
    if _get(fields, "Digits") == RESOLVED_DIGIT:
        return True
    words = set(_WORD.findall((_get(fields, "SpeechResult") or "").lower()))
    yes, no = YES_WORDS.get(language, frozenset()), NO_WORDS.get(language, frozenset())
    return bool(words & yes) and not words & no


def parse_status(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage:
    """A call status callback, one message per status: duration and outcome once the call is over."""
    ref = call_ref(fields, query)
    status = _get(fields, "CallStatus")
    if status is None:
        raise Unparseable("malformed: missing CallStatus")
    if status not in CALL_STATUSES:
        raise Unparseable(f"unknown call status: {status[:_REASON_VALUE_LIMIT]}")
    details = {
        "direction": _get(fields, "Direction"),
        "call_status": status,
        "outcome": status if status in FINAL_CALL_STATUSES else None,
        "duration_s": _int(_get(fields, "CallDuration")),
        "answered_by": _get(fields, "AnsweredBy"),
        "sip_response_code": _int(_get(fields, "SipResponseCode")),
        "sequence_number": _int(_get(fields, "SequenceNumber")),
        "callback_source": _get(fields, "CallbackSource"),
        "stir_verstat": _get(fields, "StirVerstat"),
    }
    return call_event(ref, f"status:{status}", details, received_at=received_at)


def parse_queue_result(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage:
    """The caller left the queue (``<Enqueue action>``): to an agent, to voicemail, or by hanging up."""
    ref = call_ref(fields, query)
    result = _get(fields, "QueueResult")
    if result is None:
        raise Unparseable("malformed: missing QueueResult")
    if result in VOICEMAIL_QUEUE_RESULTS:
        status = "voicemail"
    elif result == "hangup":
        status = "abandoned"
    else:
        status = "dequeued"
    details = {"call_status": status, "queue_result": result, "queue_time_s": _int(_get(fields, "QueueTime"))}
    return call_event(ref, f"queue:{result}", details, received_at=received_at)


def parse_dial_result(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage:
    """The agent's leg ended (``<Dial action>``): talked, or nobody answered (then voicemail)."""
    ref = call_ref(fields, query)
    status = _get(fields, "DialCallStatus")
    if status is None:
        raise Unparseable("malformed: missing DialCallStatus")
    details = {
        "call_status": "voicemail" if status in UNANSWERED_DIAL_STATUSES else status,
        "dial_status": status,
        "agent_duration_s": _int(_get(fields, "DialCallDuration")),
        "agent_call_sid": _get(fields, "DialCallSid"),
    }
    key = f"dial:{_get(fields, 'DialCallSid') or status}"
    return call_event(ref, key, details, received_at=received_at)


def parse_recording(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage | None:
    """A finished recording (of the call, or a voicemail) as an audio attachment; None until completed."""
    ref = call_ref(fields, query)
    if _get(fields, "RecordingStatus") not in (None, "completed"):
        return None
    sid, url = _get(fields, "RecordingSid"), _get(fields, "RecordingUrl")
    if sid is None:
        raise Unparseable("malformed: missing RecordingSid")
    if url is None:
        raise Unparseable("malformed: missing RecordingUrl")
    details = {
        "recording_url": url,
        "recording_sid": sid,
        "recording_duration_s": _int(_get(fields, "RecordingDuration")),
        "recording_source": _get(fields, "RecordingSource"),
        "voicemail": _get(fields, "RecordingSource") == "RecordVerb",
    }
    audio = (Attachment(RECORDING_CONTENT_TYPE, url=url),)
    return call_event(
        ref, f"recording:{sid}", details, received_at=received_at, kind=InboundKind.MEDIA, attachments=audio
    )


def parse_transcription(fields: Fields, query: Fields, *, received_at: datetime) -> InboundMessage | None:
    """A voicemail's transcript as the caller's text (sentiment reads it like any message); None if failed."""
    ref = call_ref(fields, query)
    if _get(fields, "TranscriptionStatus") not in (None, "completed"):
        return None
    text = _get(fields, "TranscriptionText")
    if text is None:
        return None
    sid = _get(fields, "TranscriptionSid") or _get(fields, "RecordingSid")
    if sid is None:
        raise Unparseable("malformed: missing TranscriptionSid")
    details = {
        "transcript": True,
        "transcription_sid": _get(fields, "TranscriptionSid"),
        "recording_sid": _get(fields, "RecordingSid"),
        "recording_url": _get(fields, "RecordingUrl"),
    }
    return call_event(
        ref, f"transcription:{sid}", details, received_at=received_at, kind=InboundKind.TEXT, text=text
    )
