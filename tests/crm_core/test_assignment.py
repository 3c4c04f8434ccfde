"""Availability and round-robin auto-assignment on SQLite and PostgreSQL: turns, limits, teams from channel
accounts, a rotation that outlives the process, and concurrent assigners that never overfill an agent."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.accounts import create_agent
from crm_core.assignment import (
    ACTOR,
    assign_next,
    backlog,
    inbound_conversations,
    note_channel_accounts,
    set_availability,
)
from crm_core.db import Database, open_database
from crm_core.errors import NotFoundError
from crm_core.ingest import InboundRecord, record_inbound
from crm_core.models import (
    Agent,
    AuditEntry,
    Availability,
    ChannelAccount,
    Conversation,
    EventRecord,
    Interaction,
    Role,
    Team,
    TeamMember,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


async def _team(conn: AsyncConnection, name: str = "support") -> uuid.UUID:
    team_id = uuid.uuid4()
    await conn.execute(insert(Team).values(id=team_id, name=name))
    return team_id


async def _agent(
    conn: AsyncConnection,
    name: str,
    team_id: uuid.UUID | None,
    *,
    availability: Availability = Availability.ONLINE,
    max_open: int = 8,
) -> uuid.UUID:
    agent = await create_agent(
        conn, name=name, email=f"{name.lower()}@example.com", role=Role.AGENT, password=None, now=NOW
    )
    await conn.execute(
        update(Agent).where(Agent.id == agent.id).values(availability=availability.value, max_open=max_open)
    )
    if team_id is not None:
        await conn.execute(insert(TeamMember).values(team_id=team_id, agent_id=agent.id))
    return agent.id


async def _conversation(
    conn: AsyncConnection, sender: str, *, team_id: uuid.UUID | None = None, account: str = "main"
) -> uuid.UUID:
    record = InboundRecord(
        channel="api",
        account=account,
        external_id=sender,
        external_message_id=f"m-{sender}",
        thread_key=sender,
        occurred_at=NOW,
        source_kind="text",
        text="hello",
    )
    [outcome], _ = await record_inbound(conn, [record], NOW)
    if team_id is not None:
        await conn.execute(
            update(Conversation).where(Conversation.id == outcome.conversation_id).values(team_id=team_id)
        )
    return outcome.conversation_id


async def _assignee(conn: AsyncConnection, conversation_id: uuid.UUID) -> uuid.UUID | None:
    query = select(Conversation.assignee_id).where(Conversation.id == conversation_id)
    found: uuid.UUID | None = (await conn.execute(query)).scalar()
    return found


async def test_round_robin_takes_turns_among_online_agents(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        avi = await _agent(conn, "Avi", team)
        bea = await _agent(conn, "Bea", team)
        await _agent(conn, "Cal", team, availability=Availability.AWAY)
        await _agent(conn, "Dov", None)  # online, but in no team
        conversations = [await _conversation(conn, f"c{i}", team_id=team) for i in range(4)]

    picked = []
    for i, conversation_id in enumerate(conversations):
        async with database.writer.begin() as conn:
            routed = await assign_next(conn, conversation_id, now=NOW + timedelta(seconds=i))
        picked.append(routed.agent_id)
        assert [e.name for e in routed.events] == ["conversation.assigned"]
    assert picked == [avi, bea, avi, bea]

    async with database.reader.connect() as conn:
        assert [await _assignee(conn, c) for c in conversations] == picked
        audits = (await conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail))).all()
        # Assigned already: nothing more happens.
    assert {(a.actor, a.action) for a in audits} == {(ACTOR, "conversation.assigned")}
    assert audits[0].detail["team_id"] == str(team)
    async with database.writer.begin() as conn:
        again = await assign_next(conn, conversations[0], now=NOW)
    assert again.agent_id is None and again.events == []


async def test_turns_hold_when_many_are_assigned_at_the_same_instant(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        agents = [await _agent(conn, name, team) for name in ("Avi", "Bea", "Cal")]
        conversations = [await _conversation(conn, f"c{i}", team_id=team) for i in range(6)]
        picked = [(await assign_next(conn, c, now=NOW)).agent_id for c in conversations]
    assert picked == agents + agents


async def test_limits_hold_and_the_backlog_waits_for_room(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        avi = await _agent(conn, "Avi", team, max_open=1)
        bea = await _agent(conn, "Bea", team, max_open=2)
        conversations = [await _conversation(conn, f"c{i}", team_id=team) for i in range(4)]
        routed = [await assign_next(conn, c, now=NOW) for c in conversations]
    assert Counter(r.agent_id for r in routed) == {avi: 1, bea: 2, None: 1}
    waiting = routed[-1]
    assert (waiting.team_id, waiting.events) == (team, [])

    async with database.reader.connect() as conn:
        assert await backlog(conn) == [(waiting.conversation_id, team)]
    # Avi resolves theirs: now there is room, and the backlog goes to them.
    async with database.writer.begin() as conn:
        await conn.execute(
            update(Conversation).where(Conversation.assignee_id == avi).values(status="resolved")
        )
        later = await assign_next(conn, waiting.conversation_id, now=NOW + timedelta(minutes=1))
    assert later.agent_id == avi
    async with database.reader.connect() as conn:
        assert await backlog(conn) == []


async def test_away_offline_and_deactivated_agents_get_nothing(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        await _agent(conn, "Avi", team, availability=Availability.AWAY)
        await _agent(conn, "Bea", team, availability=Availability.OFFLINE)
        cal = await _agent(conn, "Cal", team)
        await conn.execute(update(Agent).where(Agent.id == cal).values(active=False))
        conversation = await _conversation(conn, "c1", team_id=team)
        routed = await assign_next(conn, conversation, now=NOW)
    assert routed.agent_id is None
    async with database.writer.begin() as conn:
        await conn.execute(update(Agent).where(Agent.id == cal).values(active=True))
        assert (await assign_next(conn, conversation, now=NOW)).agent_id == cal


async def test_set_availability_is_audited_and_announced(database: Database) -> None:
    async with database.writer.begin() as conn:
        agent = await _agent(conn, "Avi", None, availability=Availability.OFFLINE)
        events = await set_availability(conn, agent, Availability.ONLINE, actor=f"agent:{agent}", now=NOW)
        assert [(e.name, dict(e.payload)) for e in events] == [
            ("agent.availability_changed", {"agent_id": str(agent)})
        ]
        # No change, no event.
        assert await set_availability(conn, agent, Availability.ONLINE, actor="x", now=NOW) == []
        with pytest.raises(NotFoundError):
            await set_availability(conn, uuid.uuid4(), Availability.AWAY, actor="x", now=NOW)
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(Agent.availability).where(Agent.id == agent))).scalar() == "online"
        detail = (await conn.execute(select(AuditEntry.detail))).scalar_one()
    assert detail == {"from": "offline", "to": "online"}


async def test_a_new_conversation_takes_its_team_from_its_channel_account(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        avi = await _agent(conn, "Avi", team)
        routed_account = await _conversation(conn, "c1", account="sales-line")
        unrouted = await _conversation(conn, "c2", account="other-line")
        await note_channel_accounts(conn, [routed_account, unrouted], NOW)
        await note_channel_accounts(conn, [routed_account], NOW)  # listed once
        await conn.execute(
            update(ChannelAccount).where(ChannelAccount.account == "sales-line").values(default_team_id=team)
        )
        assert await backlog(conn) == [(routed_account, team)]
        routed = await assign_next(conn, routed_account, now=NOW)
        nothing = await assign_next(conn, unrouted, now=NOW)
        listed = (await conn.execute(select(ChannelAccount.account).order_by(ChannelAccount.account))).all()
        team_of = (
            await conn.execute(select(Conversation.team_id).where(Conversation.id == routed_account))
        ).scalar()
    assert (routed.agent_id, routed.team_id, team_of) == (avi, team, team)
    assert (nothing.agent_id, nothing.team_id, nothing.events) == (None, None, [])
    assert [a for (a,) in listed] == ["other-line", "sales-line"]


async def test_only_customers_messages_in_unassigned_conversations_are_looked_at(database: Database) -> None:
    async with database.writer.begin() as conn:
        record = InboundRecord(
            channel="api",
            account="main",
            external_id="c1",
            external_message_id="m-1",
            thread_key="c1",
            occurred_at=NOW,
            source_kind="text",
            text="hi",
        )
        [outcome], _ = await record_inbound(conn, [record], NOW)
        found = await inbound_conversations(conn, [outcome.interaction_id, uuid.uuid4()])
        agent = await _agent(conn, "Avi", None)
        await conn.execute(
            update(Conversation).where(Conversation.id == outcome.conversation_id).values(assignee_id=agent)
        )
        assigned = await inbound_conversations(conn, [outcome.interaction_id])
    assert found == [outcome.conversation_id]
    assert assigned == []


async def test_the_rotation_continues_in_another_process(database: Database, database_url: str) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        avi = await _agent(conn, "Avi", team)
        bea = await _agent(conn, "Bea", team)
        first, second = [await _conversation(conn, f"c{i}", team_id=team) for i in range(2)]
        assert (await assign_next(conn, first, now=NOW)).agent_id == avi
    other = open_database(database_url)  # what a second hub process would open
    try:
        async with other.writer.begin() as conn:
            assert (await assign_next(conn, second, now=NOW)).agent_id == bea
    finally:
        await other.dispose()


async def test_two_assigners_at_once_never_exceed_a_limit(database: Database, database_url: str) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        agents = [await _agent(conn, name, team, max_open=3) for name in ("Avi", "Bea")]
        conversations = [await _conversation(conn, f"c{i}", team_id=team) for i in range(16)]
    processes = [open_database(database_url) for _ in range(2)]

    async def assigner(db: Database, order: list[uuid.UUID]) -> None:
        for conversation_id in order:
            async with db.writer.begin() as conn:
                await assign_next(conn, conversation_id, now=datetime.now(UTC))

    try:
        await asyncio.gather(
            assigner(processes[0], conversations), assigner(processes[1], conversations[::-1])
        )
    finally:
        for db in processes:
            await db.dispose()
    async with database.reader.connect() as conn:
        load = dict(
            (
                await conn.execute(
                    select(Conversation.assignee_id, func.count())
                    .where(Conversation.assignee_id.is_not(None))
                    .group_by(Conversation.assignee_id)
                )
            ).all()
        )
        events = (
            await conn.execute(select(func.count()).where(EventRecord.name == "conversation.assigned"))
        ).scalar()
    assert {str(k): v for k, v in load.items()} == {str(a): 3 for a in agents}
    assert events == 6


async def test_the_bots_conversations_wait_for_its_handover(database: Database) -> None:
    async with database.writer.begin() as conn:
        team = await _team(conn)
        conversation = await _conversation(conn, "bot-1", team_id=team)
        interaction = (
            await conn.execute(select(Interaction.id).where(Interaction.conversation_id == conversation))
        ).scalar_one()
        bot = frozenset({"api"})
        waiting_for_bot = await inbound_conversations(conn, [interaction], bot_channels=bot)
        backlog_for_bot = await backlog(conn, bot_channels=bot)
        elsewhere = await inbound_conversations(conn, [interaction], bot_channels=frozenset({"telegram"}))
        await conn.execute(
            update(Conversation).where(Conversation.id == conversation).values(handed_over_at=NOW)
        )
        handed_over = await inbound_conversations(conn, [interaction], bot_channels=bot)
        backlog_after = await backlog(conn, bot_channels=bot)
    assert waiting_for_bot == [] and backlog_for_bot == []
    assert elsewhere == [conversation]
    assert handed_over == [conversation] and backlog_after == [(conversation, team)]
