"""Round-robin auto-assignment, off the ingest path.

A consumer group on the event stream: a customer's message in an open, unassigned conversation gives it to
the next free agent of its team (a new conversation takes its team from its channel account). When an agent
comes online, resolves a conversation, has their limit or teams changed, or a channel account gets a team,
the backlog is swept: what waited for someone to be free is assigned then. Any process may do either; the
database keeps them from clashing (crm_core.assignment).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from crm_core.assignment import (
    Routed,
    assign_next,
    backlog,
    bounced_bot_conversations,
    inbound_conversations,
    note_channel_accounts,
)
from crm_core.context import record_handover
from crm_core.db import Database
from hub.bus import Bus, Event, Subscription
from hub.messages import utcnow
from hub.pipeline import IngestPipeline
from hub.relay import EVENTS_STREAM, created_interactions

__all__ = ["SWEEP_EVENTS", "AutoAssigner"]

log = logging.getLogger(__name__)

SWEEP_EVENTS = frozenset(
    {"agent.availability_changed", "agent.updated", "conversation.resolved", "channel_account.updated"}
)
"""Events after which someone may have room for the backlog."""


class AutoAssigner:
    """Consumes the event stream and assigns conversations round-robin."""

    def __init__(self, db: Database, bus: Bus, pipeline: IngestPipeline, *, sweep_limit: int = 200) -> None:
        self._db = db
        self._bus = bus
        self._pipeline = pipeline
        self.sweep_limit = sweep_limit
        self.bot_channels: frozenset[str] = frozenset()
        """Channels the bot answers first: their conversations wait for its handover (set with the bot)."""
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(
            EVENTS_STREAM, "assignment", self.handle, batch_size=64
        )

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    async def handle(self, events: Sequence[Event]) -> None:
        """Assign the conversations customers wrote in; sweep the backlog when someone may be free."""
        created = [
            uuid.UUID(e.payload["conversation_id"])
            for e in events
            if e.name == "conversation.created" and "conversation_id" in e.payload
        ]
        interactions = created_interactions(events)
        if created:
            async with self._db.writer.begin() as conn:
                await note_channel_accounts(conn, created, utcnow())
        if interactions:
            await self._hand_over_bounces(interactions)
            async with self._db.reader.connect() as conn:
                waiting = await inbound_conversations(conn, interactions, bot_channels=self.bot_channels)
            for conversation_id in waiting:
                await self.assign(conversation_id)
        # The bot gave a conversation up: now a person takes it.
        for event in events:
            if event.name == "conversation.handed_over" and "conversation_id" in event.payload:
                await self.assign(uuid.UUID(event.payload["conversation_id"]))
        if any(e.name in SWEEP_EVENTS for e in events):
            await self.sweep()

    async def _hand_over_bounces(self, interaction_ids: Sequence[uuid.UUID]) -> None:
        """A bounce in a conversation the bot holds goes to people: the bot never answers machine mail."""
        async with self._db.reader.connect() as conn:
            bounced = await bounced_bot_conversations(conn, interaction_ids, self.bot_channels)
        for conversation_id, interaction_id in bounced:
            record = {"reason": "machine_mail_bounce", "interaction_id": str(interaction_id)}
            async with self._db.writer.begin() as conn:
                events = await record_handover(conn, conversation_id, record, utcnow())
            self._pipeline.notify_committed(events)

    async def assign(self, conversation_id: uuid.UUID) -> Routed:
        """Give one conversation to the next free agent of its team, in its own transaction."""
        async with self._db.writer.begin() as conn:
            routed = await assign_next(conn, conversation_id, now=utcnow())
        self._pipeline.notify_committed(routed.events)
        return routed

    async def sweep(self) -> int:
        """Assign the waiting conversations, oldest first, until each team has no one free; how many."""
        async with self._db.reader.connect() as conn:
            waiting = await backlog(conn, limit=self.sweep_limit, bot_channels=self.bot_channels)
        full: set[uuid.UUID] = set()
        assigned = 0
        for conversation_id, team_id in waiting:
            if team_id in full:
                continue
            routed = await self.assign(conversation_id)
            if routed.agent_id is not None:
                assigned += 1
            elif routed.team_id is not None:
                full.add(routed.team_id)
        if assigned:
            log.info("round-robin assigned %d waiting conversations", assigned)
        return assigned
