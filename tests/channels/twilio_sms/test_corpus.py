"""Every messaging file of ``corpus/twilio``, signed and replayed into a fresh store through the real hub.

Each file states its one expected outcome. The corpus's placeholder SIDs (``SIDTESTING``, ``SMxx``,
``ACxxx``) are not Twilio's SID shape; the signature vouches for the request, so they are stored as given
(the id is only a dedup key). Files without ``MessageSid`` use ``SmsSid``, Twilio's legacy duplicate of it;
files without ``To`` land on the ``AccountSid`` (no ``MessagingServiceSid`` either). The chatwoot
"WhatsApp" sample's ``From`` has no ``whatsapp:`` prefix, so it is an SMS identity with a profile name.
The voice files (``twiligo_voice_*``, ``mocktwilio_call_*``, ``twiliopy_voice_*``) belong to twilio_voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.twilio_sms.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SignedRequest,
    signed_form,
    signed_json,
)
from tests.corpus import corpus_bytes, corpus_json

ENV = {"SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN}
MESSAGES = "/webhooks/twilio_sms"
STATUS = "/webhooks/twilio_sms/status"


@dataclass(frozen=True)
class Stored:
    """One inbound interaction with these values."""

    kind: str
    text: str | None
    attachments: list[dict[str, Any]]
    account: str
    external_message_id: str
    thread_key: str
    contact_name: str | None = None


@dataclass(frozen=True)
class KeptAside:
    """Nothing stored; one kept-aside item with this reason."""

    reason: str
    provider_id: str | None


@dataclass(frozen=True)
class UpdatesNothing:
    """A status for a message we never sent: acknowledged, nothing stored or kept."""


Outcome = Stored | KeptAside | UpdatesNothing

CASES: list[tuple[str, str, Outcome]] = [
    (
        "mocktwilio_sms_inbound.form",
        MESSAGES,
        Stored(
            kind="text",
            text="Inbound::Message mock reply",
            attachments=[],
            account="+1123456789",
            external_message_id="SIDTESTING",
            thread_key="+1987654321",
        ),
    ),
    (
        "chatwoot_mms_two_media.params.json",
        MESSAGES,
        Stored(
            kind="media",
            text="testing multiple media",
            attachments=[
                {"content_type": "image/png", "url": "https://chatwoot-assets.local/sample.png"},
                {"content_type": "image/jpeg", "url": "https://chatwoot-assets.local/sample.jpg"},
            ],
            account="ACxxx",
            external_message_id="SMxx",
            thread_key="+12345",
        ),
    ),
    (
        "chatwoot_whatsapp_profilename.params.json",
        MESSAGES,
        Stored(
            kind="text",
            text="Hello with profile name",
            attachments=[],
            account="ACxxx",
            external_message_id="SMxx",
            thread_key="+1234567890",
            contact_name="John Doe",
        ),
    ),
    ("chatwoot_status_read.params.json", STATUS, UpdatesNothing()),
    ("mocktwilio_message_status_delivered.form", STATUS, UpdatesNothing()),
    ("twiliopy_json_body.json", MESSAGES, KeptAside(reason="unsupported: JSON body", provider_id=None)),
]


def _signed(hub: ChannelHub, name: str, path: str) -> SignedRequest:
    url = str(hub.client.make_url(path))
    raw = corpus_bytes("twilio", name)
    if name.endswith(".form"):
        return signed_form(url, parse_qsl(raw.decode(), keep_blank_values=True), body=raw)
    if name.endswith(".params.json"):
        return signed_form(url, list(corpus_json("twilio", name).items()))
    return signed_json(url, raw)


async def _stored(hub: ChannelHub) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    for conversation in (await hub.get_json("/api/v1/conversations"))["items"]:
        interactions = await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions")
        pairs += [(conversation, interaction) for interaction in interactions["items"]]
    return pairs


async def _replay(hub: ChannelHub, name: str, path: str) -> None:
    request = _signed(hub, name, path)
    response = await hub.client.post(request.path_qs, data=request.body, headers=request.headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"


@pytest.mark.parametrize(("name", "path", "outcome"), CASES, ids=[case[0] for case in CASES])
async def test_corpus_file_has_its_one_outcome(
    make_hub: MakeHub, name: str, path: str, outcome: Outcome
) -> None:
    hub = await make_hub(ENV)
    await _replay(hub, name, path)
    stored = await _stored(hub)
    kept = (await hub.get_json("/api/v1/kept-aside"))["items"]
    if isinstance(outcome, Stored):
        [(conversation, interaction)] = stored
        assert (interaction["direction"], interaction["channel"]) == ("in", "twilio_sms")
        assert interaction["source_kind"] == outcome.kind and interaction["text"] == outcome.text
        # Only what the channel said: the hub's media fetcher adds its own keys later, asynchronously.
        said = [{k: a[k] for k in ("content_type", "url") if k in a} for a in interaction["attachments"]]
        assert said == outcome.attachments
        assert (interaction["account"], interaction["external_message_id"]) == (
            outcome.account,
            outcome.external_message_id,
        )
        assert conversation["thread_key"] == outcome.thread_key
        assert conversation["contact_name"] == outcome.contact_name
        assert kept == []
    elif isinstance(outcome, KeptAside):
        assert stored == []
        assert [(k["channel"], k["reason"], k["provider_id"]) for k in kept] == [
            ("twilio_sms", outcome.reason, outcome.provider_id)
        ]
    else:
        assert stored == [] and kept == []


@pytest.mark.parametrize(
    ("name", "path"), [(n, p) for n, p, o in CASES if isinstance(o, Stored)], ids=lambda value: str(value)
)
async def test_corpus_message_stored_once_when_twilio_retries(
    make_hub: MakeHub, name: str, path: str
) -> None:
    hub = await make_hub(ENV)
    await _replay(hub, name, path)
    await _replay(hub, name, path)
    assert len(await _stored(hub)) == 1


async def test_corpus_message_with_a_wrong_signature_is_refused_and_not_stored(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    request = _signed(hub, "mocktwilio_sms_inbound.form", MESSAGES)
    tampered = request.body.replace(b"mock+reply", b"evil+reply")
    response = await hub.client.post(MESSAGES, data=tampered, headers=request.headers)
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "bad_signature" and body["detail"]
    assert await _stored(hub) == []


async def test_status_sub_path_refuses_unsigned_callbacks(make_hub: MakeHub) -> None:
    hub = await make_hub(ENV)
    body = urlencode(corpus_json("twilio", "chatwoot_status_read.params.json")).encode()
    response = await hub.client.post(
        STATUS, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 401 and (await response.json())["error"] == "missing_signature"
