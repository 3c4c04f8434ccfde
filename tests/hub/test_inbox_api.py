"""The inbox over REST: filters on GET /api/v1/conversations, unread state per agent, POST .../read, counts,
tags; answers checked against the OpenAPI file. Embedded (SQLite) and scaled out (PostgreSQL + Redis)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import insert, update

from crm_core.accounts import create_agent, create_token
from crm_core.db import new_id
from crm_core.models import Conversation, ConversationTag, Role, Tag, Team
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.hub.conftest import Hub
from tests.hub.test_openapi import _check


@dataclass
class Desk:
    """An agent with a token of their own, and three conversations: mine (vip), nobody's, a team's."""

    agent_id: str
    token: str
    mine: str
    nobodys: str
    teams: str
    team_id: str
    vip_id: str


async def _send(hub: Hub, sender: str, text: str = "hello") -> str:
    body = {"message_id": uuid.uuid4().hex, "sender": {"id": sender, "name": sender.title()}, "text": text}
    response = await hub.send(body)
    assert response.status == 200, await response.text()
    conversation_id: str = (await response.json())["conversation_id"]
    return conversation_id


async def _desk(hub: Hub) -> Desk:
    mine, nobodys, teams = [await _send(hub, name) for name in ("mira", "nadav", "tal")]
    team_id, vip_id = new_id(), new_id()
    async with hub.app[DATABASE].writer.begin() as conn:
        agent = await create_agent(
            conn, name="Avi", email="avi@example.com", role=Role.AGENT, password=None, now=utcnow()
        )
        token, _ = await create_token(conn, name="avi", role=Role.AGENT, agent_id=agent.id, now=utcnow())
        await conn.execute(insert(Team).values(id=team_id, name="Billing"))
        await conn.execute(insert(Tag).values(id=vip_id, name="vip"))
        await conn.execute(insert(ConversationTag).values(conversation_id=uuid.UUID(mine), tag_id=vip_id))
        for conversation, values in ((mine, {"assignee_id": agent.id}), (teams, {"team_id": team_id})):
            await conn.execute(
                update(Conversation).where(Conversation.id == uuid.UUID(conversation)).values(**values)
            )
    return Desk(str(agent.id), token, mine, nobodys, teams, str(team_id), str(vip_id))


async def _call(hub: Hub, method: str, path: str, token: str | None = None, **query: str) -> Any:
    url = f"/api/v1{path}" + (f"?{urlencode(query)}" if query else "")
    headers = {"Authorization": f"Bearer {token or hub.token}"}
    return await hub.client.request(method, url, headers=headers)


async def _ids(hub: Hub, token: str | None = None, **query: str) -> list[str]:
    response = await _call(hub, "GET", "/conversations", token, **query)
    assert response.status == 200, await response.text()
    body = await _check(response, "GET", "/api/v1/conversations")
    return [item["id"] for item in body["items"]]


async def test_each_filter_over_rest(hub: Hub) -> None:
    d = await _desk(hub)
    newest_first = [d.teams, d.nobodys, d.mine]
    assert await _ids(hub) == newest_first
    assert await _ids(hub, d.token, assignee="me") == [d.mine]
    assert await _ids(hub, assignee=d.agent_id) == [d.mine]
    assert await _ids(hub, assignee="none") == [d.teams, d.nobodys]
    assert await _ids(hub, assignee_id=d.agent_id) == [d.mine]
    assert await _ids(hub, team=d.team_id) == [d.teams]
    assert await _ids(hub, team="none", assignee="none") == [d.nobodys]
    assert await _ids(hub, tag="vip") == await _ids(hub, tag=d.vip_id) == [d.mine]
    assert await _ids(hub, tag="no-such-tag") == []
    assert await _ids(hub, status="open", channel="api", tag="vip") == [d.mine]
    assert await _ids(hub, status="resolved", assignee="none") == []


async def test_a_filtered_next_page_keeps_the_filters(hub: Hub) -> None:
    d = await _desk(hub)
    response = await _call(hub, "GET", "/conversations", assignee="none", limit="1")
    first = await response.json()
    assert first["next"].startswith("assignee=none&limit=1&before=")
    second = await (await hub.get(f"/api/v1/conversations?{first['next']}")).json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [d.teams, d.nobodys]
    assert second["next"] is None


async def test_read_marks_and_unread_state_per_agent(hub: Hub) -> None:
    d = await _desk(hub)
    listed = await _call(hub, "GET", "/conversations", d.token)
    assert all(item["unread"] for item in (await listed.json())["items"])
    assert await _ids(hub, d.token, unread="true") == [d.teams, d.nobodys, d.mine]

    response = await _call(hub, "POST", f"/conversations/{d.mine}/read", d.token)
    assert response.status == 200, await response.text()
    mark = await _check(response, "POST", "/api/v1/conversations/{id}/read")
    assert (mark["conversation_id"], mark["agent_id"]) == (d.mine, d.agent_id)
    shown = await (await _call(hub, "GET", f"/conversations/{d.mine}", d.token)).json()
    assert shown["unread"] is False
    assert await _ids(hub, d.token, unread="true") == [d.teams, d.nobodys]
    assert await _ids(hub, d.token, unread="false") == [d.teams, d.nobodys, d.mine]

    await _send(hub, "mira", "are you there?")  # the customer writes again
    assert await _ids(hub, d.token, unread="true", assignee="me") == [d.mine]
    # The admin token is nobody: nothing is unread for it, and it cannot read.
    admin_view = await (await _call(hub, "GET", f"/conversations/{d.mine}")).json()
    assert admin_view["unread"] is False
    refused = await _call(hub, "POST", f"/conversations/{d.mine}/read")
    assert (refused.status, (await refused.json())["error"]) == (403, "not_an_agent")
    missing = await _call(hub, "POST", f"/conversations/{uuid.uuid4()}/read", d.token)
    assert (missing.status, (await missing.json())["error"]) == (404, "not_found")


async def test_counts_for_an_agent_and_for_a_token_without_one(hub: Hub) -> None:
    d = await _desk(hub)
    await _call(hub, "POST", f"/conversations/{d.nobodys}/read", d.token)
    response = await _call(hub, "GET", "/conversations/counts", d.token)
    assert response.status == 200, await response.text()
    counts = await _check(response, "GET", "/api/v1/conversations/counts")
    assert counts == {"open": 3, "pending": 0, "unread": 2, "mine": 1, "unassigned": 2}
    anonymous = await (await _call(hub, "GET", "/conversations/counts")).json()
    assert anonymous == {"open": 3, "pending": 0, "unread": 0, "mine": 0, "unassigned": 2}


async def test_tags_are_listed_by_name(hub: Hub) -> None:
    d = await _desk(hub)
    response = await _call(hub, "GET", "/tags")
    body = await _check(response, "GET", "/api/v1/tags")
    assert body == {"items": [{"id": d.vip_id, "name": "vip"}]}


async def test_bad_inbox_parameters_get_400_naming_the_parameter(hub: Hub) -> None:
    d = await _desk(hub)
    cases = [
        (hub.token, {"assignee": "me"}, "assignee"),  # an admin token is no agent
        (hub.token, {"unread": "true"}, "unread"),
        (d.token, {"unread": "yes"}, "unread"),
        (d.token, {"assignee": "someone"}, "assignee"),
        (d.token, {"assignee": "me", "assignee_id": d.agent_id}, "assignee"),
        (d.token, {"team": "me"}, "team"),
    ]
    for token, query, name in cases:
        response = await _call(hub, "GET", "/conversations", token, **query)
        body = await _check(response, "GET", "/api/v1/conversations")
        assert (response.status, body["error"]) == (400, "invalid_parameter"), query
        assert body["detail"].startswith(f"query parameter {name} "), body
