"""The REST API under /api/v1: tokens, contacts and their search, the 360, merge, conversations, paging.

Runs on the embedded default (SQLite + in-process bus) and scaled out (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import insert, select, update

from crm_core.accounts import create_token
from crm_core.db import new_id
from crm_core.models import Agreement, AuditEntry, Conversation, Role, SlaTier
from hub.bus import Event
from hub.keys import BUS, DATABASE
from hub.messages import utcnow
from hub.pipeline import EVENTS_STREAM
from tests.hub.conftest import Hub

SAME_INSTANT = "2026-02-03T04:05:06.789+03:30"


def _message(message_id: str, sender: str, text: str = "hello", **hints: str) -> dict[str, object]:
    return {"message_id": message_id, "sender": {"id": sender, **hints}, "text": text}


async def _send(hub: Hub, body: dict[str, object]) -> dict[str, str]:
    response = await hub.send(body)
    assert response.status == 200, await response.text()
    stored: dict[str, str] = await response.json()
    return stored


async def _ok(hub: Hub, path: str, **query: object) -> Any:
    response = await hub.get(f"{path}?{urlencode(query)}" if query else path)
    assert response.status == 200, await response.text()
    return await response.json()


async def _error(response: Any, status: int, code: str) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"] == code, body
    detail: str = body["detail"]
    return detail


async def _post(hub: Hub, path: str, body: object) -> Any:
    headers = {"Authorization": f"Bearer {hub.token}"}
    if isinstance(body, bytes):
        return await hub.client.post(path, data=body, headers=headers)
    return await hub.client.post(path, json=body, headers=headers)


async def _token(hub: Hub, role: Role) -> str:
    async with hub.app[DATABASE].writer.begin() as conn:
        token, _ = await create_token(conn, name=f"{role}-{uuid.uuid4().hex[:6]}", role=role, now=utcnow())
    return token


async def test_no_token_or_a_wrong_one_gets_401_with_a_code_and_a_good_one_works(hub: Hub) -> None:
    cases = [
        ({}, "missing_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_token"),
        ({"Authorization": "Bearer "}, "missing_token"),
        ({"Authorization": "Bearer sb_not-a-token"}, "bad_token"),
        ({"Authorization": f"Bearer {hub.token}x"}, "bad_token"),
    ]
    for headers, code in cases:
        response = await hub.client.get("/api/v1/contacts", headers=headers)
        await _error(response, 401, code)
    assert (await _ok(hub, "/api/v1/contacts")) == {"items": [], "limit": 50, "offset": 0}
    lower = await hub.client.get("/api/v1/contacts", headers={"Authorization": f"bearer {hub.token}"})
    assert lower.status == 200


async def test_contacts_search_matches_names_in_any_script_identities_and_phone_digits(hub: Hub) -> None:
    reza = (await _send(hub, _message("m-1", "crm-42", name="Reza Karimi", email="reza@example.com")))[
        "contact_id"
    ]
    dana = (await _send(hub, _message("m-2", "shop-7781", name="דנה לוי")))["contact_id"]
    ali = (await _send(hub, _message("m-3", "shop-9000", name="علی کریمی", phone="+989121234567")))[
        "contact_id"
    ]

    async def found(q: str) -> list[str]:
        return [c["id"] for c in (await _ok(hub, "/api/v1/contacts", q=q))["items"]]

    assert await found("דנה") == [dana]
    assert await found("crm-4") == [reza]  # an identity, not a name
    assert await found("shop-") == [ali, dana]  # newest first
    assert await found("REZA@") == [reza]
    assert await found("علي كريمي") == [ali]  # Arabic yeh and kaf find the Persian spelling
    assert await found("۱۲۱۲۳۴") == [ali]  # Persian digits find the phone number
    assert await found("Karimi") == [reza]
    assert await found("nobody") == []
    assert await found("") == [ali, dana, reza]
    page = await _ok(hub, "/api/v1/contacts", limit=1, offset=1)
    assert [c["id"] for c in page["items"]] == [dana]


async def test_unknown_or_malformed_contact_id_is_404(hub: Hub) -> None:
    for path in ("/api/v1/contacts/{}", "/api/v1/contacts/{}/360"):
        for contact_id in (uuid.uuid4(), "not-a-uuid", "12345"):
            await _error(await hub.get(path.format(contact_id)), 404, "not_found")
    await _error(await hub.get(f"/api/v1/conversations/{uuid.uuid4()}"), 404, "not_found")
    await _error(await hub.get("/api/v1/conversations/nope/interactions"), 404, "not_found")


async def test_the_360_after_two_messages_from_one_sender_and_one_from_another(hub: Hub) -> None:
    first = await _send(
        hub,
        {
            **_message("m-1", "crm-42", "Where is my order?", name="Reza"),
            "sent_at": "2026-01-01T10:00:00+00:00",
        },
    )
    second = await _send(
        hub, {**_message("m-2", "crm-42", "Any news?"), "sent_at": "2026-01-01T11:00:00+00:00"}
    )
    other = await _send(hub, _message("m-3", "crm-7", "Unrelated"))
    assert first["contact_id"] == second["contact_id"] != other["contact_id"]

    view = await _ok(hub, f"/api/v1/contacts/{first['contact_id']}/360")
    assert view["requested_id"] == view["contact"]["id"] == first["contact_id"]
    assert view["contact"]["display_name"] == "Reza"
    assert [(i["channel"], i["external_id"]) for i in view["identities"]] == [("api", "crm-42")]
    assert [i["text"] for i in view["recent_interactions"]] == ["Any news?", "Where is my order?"]
    assert [i["id"] for i in view["recent_interactions"]] == [
        second["interaction_id"],
        first["interaction_id"],
    ]
    assert {i["direction"] for i in view["recent_interactions"]} == {"in"}
    figures = view["figures"]
    assert (figures["interactions_total"], figures["conversations_total"], figures["conversations_open"]) == (
        2,
        1,
        1,
    )
    assert (figures["first_seen"], figures["last_seen"]) == (
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T11:00:00+00:00",
    )

    recent = await _ok(hub, f"/api/v1/contacts/{first['contact_id']}/360", recent=1)
    assert [i["text"] for i in recent["recent_interactions"]] == ["Any news?"]
    theirs = await _ok(hub, f"/api/v1/contacts/{other['contact_id']}/360")
    assert [i["text"] for i in theirs["recent_interactions"]] == ["Unrelated"]
    assert theirs["figures"]["interactions_total"] == 1


async def test_payment_terms_are_for_supervisors_and_admins_only(hub: Hub) -> None:
    contact = (await _send(hub, _message("m-1", "crm-42")))["contact_id"]
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            insert(SlaTier).values(name="gold", first_response_seconds=900, resolution_seconds=3600)
        )
        await conn.execute(
            insert(Agreement).values(
                id=new_id(),
                contact_id=uuid.UUID(contact),
                product="Fibre",
                sla_tier="gold",
                entitlements=[],
                payment_plan="monthly",
                payment_status="overdue",
                starts_on=date(2026, 1, 1),
                ends_on=None,
                created_at=utcnow(),
            )
        )
    seen = {}
    for role in (Role.AGENT, Role.SERVICE, Role.SUPERVISOR, Role.ADMIN):
        headers = {"Authorization": f"Bearer {await _token(hub, role)}"}
        response = await hub.client.get(f"/api/v1/contacts/{contact}/360", headers=headers)
        assert response.status == 200
        [agreement] = (await response.json())["agreements"]
        assert agreement["product"] == "Fibre"
        seen[role] = agreement.get("payment_status")
    assert seen == {Role.AGENT: None, Role.SERVICE: None, Role.SUPERVISOR: "overdue", Role.ADMIN: "overdue"}


async def test_merge_moves_identities_and_interactions_is_audited_and_refused_twice(hub: Hub) -> None:
    survivor = (await _send(hub, _message("m-1", "crm-1", "first", name="Reza Karimi")))["contact_id"]
    await _send(hub, _message("m-2", "crm-1", "second"))
    merged = (await _send(hub, _message("m-3", "crm-2", "third", email="reza@example.com")))["contact_id"]

    response = await _post(hub, f"/api/v1/contacts/{survivor}/merge", {"merge_id": merged})
    assert response.status == 200, await response.text()
    outcome = await response.json()
    assert (outcome["survivor_id"], outcome["merged_id"]) == (survivor, merged)
    assert (outcome["identities"], outcome["conversations"], outcome["interactions"]) == (1, 1, 1)
    assert outcome["filled_fields"] == ["email"]
    assert [e["name"] for e in outcome["events"]] == ["contact.merged"]

    view = await _ok(hub, f"/api/v1/contacts/{survivor}/360")
    assert sorted(i["external_id"] for i in view["identities"]) == ["crm-1", "crm-2"]
    assert sorted(i["text"] for i in view["recent_interactions"]) == ["first", "second", "third"]
    assert view["figures"]["interactions_total"] == 3
    assert view["contact"]["email"] == "reza@example.com"
    via_old_id = await _ok(hub, f"/api/v1/contacts/{merged}/360")
    assert (via_old_id["requested_id"], via_old_id["contact"]["id"]) == (merged, survivor)
    assert (await _ok(hub, f"/api/v1/contacts/{merged}"))["merged_into_id"] == survivor
    assert [c["id"] for c in (await _ok(hub, "/api/v1/contacts"))["items"]] == [survivor]

    async with hub.app[DATABASE].reader.connect() as conn:
        rows = (await conn.execute(select(AuditEntry).where(AuditEntry.action == "contact.merged"))).all()
    assert [(r.subject_type, r.subject_id, r.detail["merged_id"]) for r in rows] == [
        ("contact", survivor, merged)
    ]
    assert rows[0].actor.startswith("token:test-")

    again = await _post(hub, f"/api/v1/contacts/{survivor}/merge", {"merge_id": merged})
    assert merged in await _error(again, 409, "merge_refused")
    await _error(
        await _post(hub, f"/api/v1/contacts/{survivor}/merge", {"merge_id": survivor}), 409, "merge_refused"
    )


async def test_merge_answers_404_for_unknown_contacts_and_400_for_a_bad_body(hub: Hub) -> None:
    contact = (await _send(hub, _message("m-1", "crm-1")))["contact_id"]
    merge = f"/api/v1/contacts/{contact}/merge"
    await _error(await _post(hub, merge, {"merge_id": str(uuid.uuid4())}), 404, "not_found")
    await _error(await _post(hub, merge, {"merge_id": "not-an-id"}), 404, "not_found")
    await _error(
        await _post(hub, f"/api/v1/contacts/{uuid.uuid4()}/merge", {"merge_id": contact}), 404, "not_found"
    )
    assert "merge_id" in await _error(await _post(hub, merge, {}), 400, "missing_field")
    assert "merge_id" in await _error(await _post(hub, merge, {"merge_id": 7}), 400, "invalid_field")
    await _error(await _post(hub, merge, b'{"merge_id": '), 400, "malformed_json")
    await _error(await _post(hub, merge, ["merge_id"]), 400, "malformed_json")
    await _error(await hub.client.post(merge, json={"merge_id": contact}), 401, "missing_token")
    async with hub.app[DATABASE].reader.connect() as conn:
        assert (await conn.execute(select(AuditEntry.id))).first() is None


async def test_contact_merged_reaches_the_bus(hub: Hub) -> None:
    survivor = (await _send(hub, _message("m-1", "crm-1")))["contact_id"]
    merged = (await _send(hub, _message("m-2", "crm-2")))["contact_id"]
    seen: list[Event] = []
    arrived = asyncio.Event()

    async def collect(events: Sequence[Event]) -> None:
        seen.extend(
            e for e in events if e.name == "contact.merged" and e.payload.get("contact_id") == survivor
        )
        if seen:
            arrived.set()

    subscription = await hub.app[BUS].subscribe(EVENTS_STREAM, f"test-{uuid.uuid4().hex}", collect)
    try:
        response = await _post(hub, f"/api/v1/contacts/{survivor}/merge", {"merge_id": merged})
        assert response.status == 200
        await asyncio.wait_for(arrived.wait(), timeout=10)
    finally:
        await subscription.close()
    assert [e.payload for e in seen] == [{"contact_id": survivor, "merged_id": merged}]


async def test_conversations_filter_by_status_contact_and_channel(hub: Hub) -> None:
    a = await _send(hub, _message("m-1", "crm-a"))
    b = await _send(hub, _message("m-2", "crm-b"))
    c = await _send(hub, _message("m-3", "crm-c"))
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            update(Conversation)
            .where(Conversation.id == uuid.UUID(b["conversation_id"]))
            .values(status="resolved", closed_at=utcnow())
        )

    async def ids(**query: object) -> set[str]:
        return {item["id"] for item in (await _ok(hub, "/api/v1/conversations", **query))["items"]}

    assert await ids() == {a["conversation_id"], b["conversation_id"], c["conversation_id"]}
    assert await ids(status="open") == {a["conversation_id"], c["conversation_id"]}
    assert await ids(status="resolved") == {b["conversation_id"]}
    assert await ids(contact_id=a["contact_id"]) == {a["conversation_id"]}
    assert await ids(contact_id=b["contact_id"], status="open") == set()
    assert await ids(channel="api", contact_id=c["contact_id"]) == {c["conversation_id"]}
    assert await ids(channel="telegram") == set()
    one = await _ok(hub, f"/api/v1/conversations/{b['conversation_id']}")
    assert (one["status"], one["contact_id"], one["channel"]) == ("resolved", b["contact_id"], "api")


async def _walk(hub: Hub, path: str, query: dict[str, object]) -> list[list[str]]:
    """Follow ``next`` from the first page to the last; the ids of each page."""
    pages: list[list[str]] = []
    url: str | None = f"{path}?{urlencode(query)}"
    while url is not None and len(pages) < 20:
        body = await _ok(hub, url)
        pages.append([item["id"] for item in body["items"]])
        url = None if body["next"] is None else f"{path}?{body['next']}"
    return pages


async def test_interactions_pages_with_one_shared_timestamp_hold_every_message_once(hub: Hub) -> None:
    sent = [
        await _send(hub, {**_message(f"m-{n}", "crm-42", f"part {n}"), "sent_at": SAME_INSTANT})
        for n in range(5)
    ]
    conversation = sent[0]["conversation_id"]
    assert {s["conversation_id"] for s in sent} == {conversation}
    path = f"/api/v1/conversations/{conversation}/interactions"

    pages = await _walk(hub, path, {"limit": 2})
    assert [len(page) for page in pages] == [2, 2, 1]
    every = [i for page in reversed(pages) for i in page]
    assert sorted(every) == sorted(s["interaction_id"] for s in sent)
    assert len(set(every)) == 5
    assert every == sorted(every)  # oldest to newest within and across pages (ids break the tie)

    everything = await _ok(hub, path)
    assert [i["id"] for i in everything["items"]] == every
    assert everything["next"] is None
    assert {i["occurred_at"] for i in everything["items"]} == {"2026-02-03T00:35:06.789000+00:00"}
    # The instant alone cannot split rows that share it: that is what before_id is for.
    assert (await _ok(hub, path, before=SAME_INSTANT))["items"] == []


async def test_conversation_pages_with_one_shared_timestamp_hold_every_conversation_once(hub: Hub) -> None:
    sent = [await _send(hub, {**_message(f"m-{n}", f"crm-{n}"), "sent_at": SAME_INSTANT}) for n in range(3)]
    await _send(hub, {**_message("m-new", "crm-new"), "sent_at": "2026-02-04T00:00:00+00:00"})
    query = {"status": "open", "channel": "api", "limit": 1}
    pages = await _walk(hub, "/api/v1/conversations", query)
    every = [i for page in pages for i in page]
    assert len(every) == len(set(every)) == 4
    assert set(every[1:]) == {s["conversation_id"] for s in sent}
    mine = await _walk(hub, "/api/v1/conversations", {"contact_id": sent[1]["contact_id"], "limit": 1})
    assert mine == [[sent[1]["conversation_id"]]]


async def test_next_keeps_the_filters_and_moves_the_cursor(hub: Hub) -> None:
    for n in range(2):
        await _send(hub, {**_message(f"m-{n}", f"crm-{n}"), "sent_at": SAME_INSTANT})
    body = await _ok(hub, "/api/v1/conversations", status="open", limit=1)
    assert body["next"].startswith(
        "status=open&limit=1&before=2026-02-03T00%3A35%3A06.789000%2B00%3A00&before_id="
    )
    assert body["next"].endswith(body["items"][0]["id"])


async def test_bad_query_parameters_get_400_naming_the_parameter(hub: Hub) -> None:
    sent = await _send(hub, _message("m-1", "crm-1"))
    interactions = f"/api/v1/conversations/{sent['conversation_id']}/interactions"
    cases = [
        ("/api/v1/conversations", "limit=0", "limit"),
        ("/api/v1/conversations", "limit=abc", "limit"),
        ("/api/v1/conversations", "limit=501", "limit"),
        ("/api/v1/conversations", "before=yesterday", "before"),
        ("/api/v1/conversations", "before=2026-01-01T00:00:00", "before"),  # no offset
        ("/api/v1/conversations", "before=2026-01-01T00:00:00+00:00", "before"),  # "+" not sent as %2B
        ("/api/v1/conversations", f"before_id={uuid.uuid4()}", "before_id"),  # without before
        ("/api/v1/conversations", "before=2026-01-01T00%3A00%3A00Z&before_id=x", "before_id"),
        ("/api/v1/conversations", "status=bogus", "status"),
        ("/api/v1/conversations", "contact_id=42", "contact_id"),
        ("/api/v1/conversations", "assignee_id=me", "assignee_id"),
        (interactions, "limit=0", "limit"),
        (interactions, "limit=abc", "limit"),
        (interactions, "before=yesterday", "before"),
        ("/api/v1/contacts", "limit=0", "limit"),
        ("/api/v1/contacts", "offset=-1", "offset"),
        (f"/api/v1/contacts/{sent['contact_id']}/360", "recent=none", "recent"),
    ]
    for path, query, name in cases:
        detail = await _error(await hub.get(f"{path}?{query}"), 400, "invalid_parameter")
        assert detail.startswith(f"query parameter {name} "), (path, query, detail)
    ok = await hub.get("/api/v1/conversations?before=2026-01-01T00%3A00%3A00Z&limit=500")
    assert ok.status == 200
