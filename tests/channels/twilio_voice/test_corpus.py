"""Every voice file of ``corpus/twilio``, signed and replayed to the phone channel, with its one outcome.

The corpus's placeholder SIDs (``SIDTESTING``) are not Twilio's SID shape; the signature vouches for the
request, so they are stored as given. The two ``mocktwilio_call_*`` files are call-progress events of a call
we placed (``Direction=outbound-api``): our number is ``From``, the customer ``To``. Both share a CallSid
and status, so each file is replayed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest

from hub.messages import ExternalIdentity, InboundKind
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_sms.fake_twilio import SignedRequest, signed_form
from tests.channels.twilio_voice.conftest import PATH, MountChannel, twiml_of, url_of
from tests.corpus import CORPUS_DIR, corpus_bytes, corpus_json


@dataclass(frozen=True)
class Stored:
    """These messages (id, kind, text, details) under this identity, and TwiML whose verbs are ``verbs``."""

    identity: ExternalIdentity
    messages: list[tuple[str, InboundKind, str | None, dict[str, Any]]]
    verbs: list[str]
    display_name: str | None = None


PROGRESS = {
    "direction": "outbound-api",
    "call_status": "ringing",
    "duration_s": 0,
    "sip_response_code": 487,
    "sequence_number": 2,
    "callback_source": "call-progress-events",
}
OUTBOUND = ExternalIdentity("twilio_voice", "+18111111111", "+18222222222")

CASES: list[tuple[str, str, Stored]] = [
    (
        "twiligo_voice_incoming_ringing.form",
        "",
        Stored(
            ExternalIdentity("twilio_voice", "+15306384866", "+15306666666"),
            [
                (
                    "CAd800bb12c0426a7ea4230e492fef2a4f",
                    InboundKind.CALL,
                    None,
                    {"direction": "inbound", "call_status": "ringing", "caller_name": "CA Wireless Call"},
                )
            ],
            verbs=["Gather"],
            display_name="CA Wireless Call",
        ),
    ),
    (
        "twiliopy_voice_gather_digits.params.json",
        "/gather",
        Stored(
            ExternalIdentity("twilio_voice", "+18005551212", "+14158675309"),
            [
                ("CA1234567890ABCDE:gather", InboundKind.TEXT, "1234", {"input": "dtmf", "digits": "1234"}),
                (
                    "CA1234567890ABCDE:queued",
                    InboundKind.CALL,
                    None,
                    {"call_status": "queued", "queue": "support", "reason": "no_bot_answer"},
                ),
            ],
            verbs=["Say", "Enqueue"],
        ),
    ),
    (
        "mocktwilio_call_progress_ringing.params.json",
        "/status",
        Stored(OUTBOUND, [("SIDTESTING:status:ringing", InboundKind.CALL, None, PROGRESS)], verbs=[]),
    ),
    (
        "mocktwilio_call_status_answeredby.params.json",
        "/status",
        Stored(
            OUTBOUND,
            [
                (
                    "SIDTESTING:status:ringing",
                    InboundKind.CALL,
                    None,
                    {**PROGRESS, "answered_by": "unknown", "stir_verstat": "TN-Validation-Passed-B"},
                )
            ],
            verbs=[],
        ),
    ),
]

VOICE_PREFIXES = ("twiligo_voice_", "mocktwilio_call_", "twiliopy_voice_")


def _signed(url: str, name: str) -> SignedRequest:
    raw = corpus_bytes("twilio", name)
    if name.endswith(".form"):
        return signed_form(url, parse_qsl(raw.decode(), keep_blank_values=True), body=raw)
    return signed_form(url, list(corpus_json("twilio", name).items()))


def test_every_voice_file_of_the_corpus_has_a_case() -> None:
    files = sorted(p.name for p in (CORPUS_DIR / "twilio").iterdir() if p.name.startswith(VOICE_PREFIXES))
    assert files == sorted(name for name, _, _ in CASES)


@pytest.mark.parametrize(("name", "path", "outcome"), CASES, ids=[case[0] for case in CASES])
async def test_corpus_file_has_its_one_outcome(
    mount_channel: MountChannel, recording_inbox: RecordingInbox, name: str, path: str, outcome: Stored
) -> None:
    _, client = await mount_channel(recording_inbox)
    request = _signed(url_of(client, PATH + path), name)
    for _ in range(2):  # a retried webhook changes nothing
        response = await client.post(request.path_qs, data=request.body, headers=request.headers)
        root = await twiml_of(response)
        assert [child.tag for child in root] == outcome.verbs
    got = [(m.external_message_id, m.kind, m.text, dict(m.details or {})) for m in recording_inbox.messages]
    assert got == outcome.messages
    assert {m.identity for m in recording_inbox.messages} == {outcome.identity}
    assert recording_inbox.messages[0].sender_hints.display_name == outcome.display_name
    assert recording_inbox.kept == []
