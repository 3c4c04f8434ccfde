"""Every case of the WhatsApp corpus (``../shared/corpus/whatsapp``), replayed signed, with its ONE outcome.

Messages are replayed through a real hub into a fresh store each (many cases share ``wamid.xyzxyz``) and
read back through REST. Status cases go to ``record_delivery`` (checked on a recording inbox: through the
hub a status for a wamid we never sent updates nothing) and, through the hub, store no interaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.messages import DeliveryStatus, DeliveryUpdate
from tests.channels.conftest import ChannelHub, MakeHub, RecordingInbox
from tests.channels.whatsapp_cloud.conftest import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    WEBHOOK,
    WebhookClient,
    hub_env,
)
from tests.channels.whatsapp_cloud.fake_graph import sign
from tests.corpus import CORPUS_DIR, corpus_json

CUSTOMER = "+972987654321"
IMAGE = [{"content_type": "image/jpeg", "media_id": "65463453"}]
AUDIO = [{"content_type": "audio/ogg; codecs=opus", "media_id": "1234567890987654321"}]
STICKER = [{"content_type": "image/webp", "media_id": "1234567890987654321"}]
CARDS = "👤 Chandler Bing: +1 555-555-5555\n👤 Monica: +1 666-666-6666\n👤 Rachel Green: +1 777-777-7777"
ORDER = "🛒 Order: 3 × HAMBURGER (30 ILS), 2 × FRENCH_FRIES (35 ILS), 2 × SODA (10 ILS)"
UNSUPPORTED = "Unsupported message"
PLACE = "📍 37.4611978, -122.2164385 — Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025"

# (file, case) -> (wamid, source_kind, text, attachments): stored as one inbound interaction.
STORED: dict[tuple[str, str], tuple[str, str, str | None, list[dict[str, Any]]]] = {
    ("pywa_message.json", "text"): ("wamid.xyzxyz", "text", "Body Text", []),
    ("pywa_message.json", "image"): ("wamid.xyzxyz", "media", None, IMAGE),
    # The webhook's own media URL needs the token and expires in minutes: the media id is what is kept.
    ("pywa_message.json", "media_with_url"): ("wamid.xyzxyz", "media", None, IMAGE),
    ("pywa_message.json", "video"): (
        "wamid.xyzxyz", "media", "caption", [{"content_type": "video/mp4", "media_id": "765756756"}]
    ),
    ("pywa_message.json", "document"): (
        "wamid.xyzxyz", "media", "caption",
        [{"content_type": "application/pdf", "filename": "filename.pdf", "media_id": "1234567890987654321"}],
    ),
    ("pywa_message.json", "audio"): ("wamid.xyzxyz", "media", None, AUDIO),
    ("pywa_message.json", "voice"): ("wamid.xyzxyz", "media", None, AUDIO),
    ("pywa_message.json", "static_sticker"): ("wamid.xyzxyz", "media", None, STICKER),
    ("pywa_message.json", "animated_sticker"): ("wamid.xyzxyz", "media", None, STICKER),
    ("pywa_message.json", "reaction"): ("wamid.xyzxyz", "reaction", "Reacted 😮", []),
    ("pywa_message.json", "unreaction_empty"): ("wamid.xyzxyz", "reaction", "Removed a reaction", []),
    ("pywa_message.json", "unreaction_no_emoji"): ("wamid.xyzxyz", "reaction", "Removed a reaction", []),
    ("pywa_message.json", "current_location"): ("wamid.xyzxyz", "location", "📍 12.25089, 43.90539", []),
    ("pywa_message.json", "chosen_location"): ("wamid.xyzxyz", "location", PLACE, []),
    ("pywa_message.json", "contacts"): ("wamid.xyzxyz", "contact_card", CARDS, []),
    ("pywa_message.json", "order"): ("wamid.xyzxyz", "text", ORDER, []),
    ("pywa_message.json", "unsupported"): ("wamid.xyzxyz", "event", UNSUPPORTED, []),
    ("pywa_message.json", "unsupported_with_type"): ("wamid.xyzxyz", "event", f"{UNSUPPORTED} (pool)", []),
    ("pywa_message.json", "reply"): ("wamid.xyzxyz", "text", "replied text", []),
    ("pywa_message.json", "forwarded"): ("wamid.xyzxyz", "text", "forwarded text", []),
    ("pywa_message.json", "forwarded_many_times"): ("wamid.xyzxyz", "text", "text forwarded many times", []),
    ("pywa_message.json", "referral"): ("wamid.ID", "text", "BODY", []),
    ("pywa_callback_button.json", "button"): ("wamid.xyzxyz", "text", "title", []),
    ("pywa_callback_button.json", "quick_reply"): ("wamid.xsidjw", "text", "title", []),
    ("pywa_callback_button.json", "quick_reply_without_context"): ("wamid.xsidjx", "text", "title", []),
    ("pywa_callback_selection.json", "callback"): ("wamid.zyzxyz", "text", "title", []),
    # The row's description is our own list's text, not the customer's: it stays in raw.
    ("pywa_callback_selection.json", "description"): ("wamid.zyzxyz", "text", "title", []),
}  # fmt: skip

# (file, case) -> (reason, account, provider_id): kept aside, nothing stored as an interaction.
KEPT: dict[tuple[str, str], tuple[str, str, str | None]] = {
    # Meta itself says "Unsupported webhook payload" (131000): an interactive message with no content.
    ("pywa_message.json", "interactive_message_with_err"): (
        "malformed message: interactive without content", PHONE_NUMBER_ID, "wamid.wegrchytvwcggt="
    ),
    # Template reviews concern our templates, not a customer: no conversation to put them in.
    ("pywa_template_status_update.json", "approved"): (
        "unsupported field: message_template_status_update", PHONE_NUMBER_ID, "1689556908129832"
    ),
    ("pywa_template_status_update.json", "rejected"): (
        "unsupported field: message_template_status_update", PHONE_NUMBER_ID, "1689556908129835"
    ),
    # Marketing opt-in/out is a consent signal the hub has no door for yet (see the channel README).
    ("pywa_user_marketing_preferences.json", "resume"): (
        "unsupported field: user_preferences", "106540352242922", None
    ),
    ("pywa_user_marketing_preferences.json", "signup"): (
        "unsupported field: user_preferences", "106540352242922", None
    ),
}  # fmt: skip

_ERROR_130472 = (
    "130472: User's number is part of an experiment"
    " — Failed to send message because this user's phone number is part of an experiment"
)
# case of pywa_message_status.json -> (wamid, status, Unix timestamp, error)
STATUSES: dict[str, tuple[str, DeliveryStatus, int, str | None]] = {
    "sent": ("wamid.xyzxyz", DeliveryStatus.SENT, 1698266945, None),
    "delivered": ("wamid.xyzxyz", DeliveryStatus.DELIVERED, 1698266945, None),
    "read": ("wamid.xyzxyz", DeliveryStatus.READ, 1689380458, None),
    "played": ("wamid.xyzxyz", DeliveryStatus.READ, 1689380458, None),
    "failed": ("wamid.xyzxyz", DeliveryStatus.FAILED, 1689380458, _ERROR_130472),
    "with_tracker": ("wamid.xyzxyz", DeliveryStatus.SENT, 1698266945, None),
    "group": ("<WHATSAPP_MESSAGE_ID>", DeliveryStatus.READ, 1698266945, None),
}


_ATTACHMENT_KEYS = ("content_type", "url", "filename", "size", "media_id")


def _signed(file: str, case: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(corpus_json("whatsapp", file)[case]).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)}


async def _post(hub: ChannelHub, file: str, case: str) -> dict[str, Any]:
    body, headers = _signed(file, case)
    response = await hub.client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


def test_every_corpus_case_has_exactly_one_expected_outcome() -> None:
    expected = {*STORED, *KEPT, *(("pywa_message_status.json", case) for case in STATUSES)}
    in_corpus = {
        (path.name, case)
        for path in sorted((CORPUS_DIR / "whatsapp").glob("*.json"))
        for case in corpus_json("whatsapp", path.name)
    }
    assert in_corpus == expected
    assert len(expected) == len(STORED) + len(KEPT) + len(STATUSES)


@pytest.mark.parametrize(("file", "case"), sorted(STORED))
async def test_message_case_is_stored_as_one_interaction(make_hub: MakeHub, file: str, case: str) -> None:
    wamid, source_kind, text, attachments = STORED[(file, case)]
    hub = await make_hub(hub_env())
    assert await _post(hub, file, case) == {"messages": 1, "statuses": 0, "kept_aside": 0}
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    [stored] = (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    # The hub's media fetcher adds its own keys (stored_url, store_error) in the background: compare ours.
    ours = [{k: a[k] for k in a if k in _ATTACHMENT_KEYS} for a in stored["attachments"]]
    assert (stored["direction"], stored["source_kind"], stored["text"], ours) == (
        "in",
        source_kind,
        text,
        attachments,
    )
    assert (stored["channel"], stored["account"], stored["external_message_id"]) == (
        "whatsapp_cloud",
        PHONE_NUMBER_ID,
        wamid,
    )
    assert stored["kind"] == ("status_change" if source_kind == "event" else "message")


async def test_corpus_sender_becomes_a_contact_with_a_verified_e164_identity(make_hub: MakeHub) -> None:
    hub = await make_hub(hub_env())
    await _post(hub, "pywa_message.json", "text")
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    view = await hub.get_json(f"/api/v1/contacts/{conversation['contact_id']}/360")
    assert (view["contact"]["display_name"], view["contact"]["phone"]) == ("Test Name", CUSTOMER)
    assert [(i["channel"], i["account"], i["external_id"]) for i in view["identities"]] == [
        ("whatsapp_cloud", PHONE_NUMBER_ID, CUSTOMER)
    ]
    assert datetime.fromisoformat(view["figures"]["last_seen"]) == datetime.fromtimestamp(1697043223, UTC)


async def test_redelivered_corpus_message_is_stored_once(make_hub: MakeHub) -> None:
    hub = await make_hub(hub_env())
    await _post(hub, "pywa_message.json", "image")
    await _post(hub, "pywa_message.json", "image")
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    assert len((await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]) == 1


@pytest.mark.parametrize(("file", "case"), sorted(KEPT))
async def test_kept_aside_case_on_the_adapter(webhook_client: WebhookClient, recording_inbox: RecordingInbox,
                                             file: str, case: str) -> None:  # fmt: skip
    reason, account, provider_id = KEPT[(file, case)]
    client = await webhook_client()
    body, headers = _signed(file, case)
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 200
    assert (recording_inbox.messages, recording_inbox.updates) == ([], [])
    [kept] = recording_inbox.kept
    assert (kept.channel, kept.reason, kept.account, kept.provider_id) == (
        "whatsapp_cloud",
        reason,
        account,
        provider_id,
    )
    assert (kept.body, kept.content_type) == (body, "application/json")


@pytest.mark.parametrize(("file", "case"), sorted(KEPT))
async def test_kept_aside_case_through_the_hub(make_hub: MakeHub, file: str, case: str) -> None:
    reason, account, provider_id = KEPT[(file, case)]
    hub = await make_hub(hub_env())
    assert await _post(hub, file, case) == {"messages": 0, "statuses": 0, "kept_aside": 1}
    assert (await hub.get_json("/api/v1/conversations"))["items"] == []
    [kept] = (await hub.get_json("/api/v1/kept-aside"))["items"]
    assert (kept["channel"], kept["reason"], kept["account"], kept["provider_id"]) == (
        "whatsapp_cloud",
        reason,
        account,
        provider_id,
    )


@pytest.mark.parametrize("case", sorted(STATUSES))
async def test_status_case_is_handed_to_record_delivery(
    webhook_client: WebhookClient, recording_inbox: RecordingInbox, case: str
) -> None:
    wamid, status, timestamp, error = STATUSES[case]
    client = await webhook_client()
    body, headers = _signed("pywa_message_status.json", case)
    response = await client.post(WEBHOOK, data=body, headers=headers)
    assert response.status == 200
    assert recording_inbox.updates == [
        DeliveryUpdate("whatsapp_cloud", wamid, status, datetime.fromtimestamp(timestamp, UTC), error)
    ]
    assert (recording_inbox.messages, recording_inbox.kept) == ([], [])


@pytest.mark.parametrize("case", sorted(STATUSES))
async def test_status_case_through_the_hub_is_acknowledged_and_stores_no_interaction(
    make_hub: MakeHub, case: str
) -> None:
    hub = await make_hub(hub_env())
    assert await _post(hub, "pywa_message_status.json", case) == {
        "messages": 0,
        "statuses": 1,
        "kept_aside": 0,
    }
    assert (await hub.get_json("/api/v1/conversations"))["items"] == []


async def test_the_corpus_reply_keeps_the_id_of_the_message_it_answers(make_hub: MakeHub) -> None:
    hub = await make_hub(hub_env())
    await _post(hub, "pywa_message.json", "reply")
    [conversation] = (await hub.get_json("/api/v1/conversations"))["items"]
    [stored] = (await hub.get_json(f"/api/v1/conversations/{conversation['id']}/interactions"))["items"]
    assert stored["reply_to_external_id"] == "wamid.xyzxyz=="
