"""The hub's :class:`~hub.contract.Inbox`: what channels hand the hub, turned into CRM records.

Cleans text (NUL characters break PostgreSQL text columns), recognises STOP/START/HELP on channels that
honour keywords, stores through the ingest pipeline (group commit), and keeps aside what a channel could
not parse.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from crm_core.context import MACHINE_MAIL_FOR_PEOPLE, machine_mail
from crm_core.db import Database
from crm_core.history import identity_history
from crm_core.ingest import InboundRecord, InlineFile
from crm_core.kept_aside import KeptAsideDraft, keep_aside
from crm_core.models import InteractionKind
from hub.messages import (
    DeliveryUpdate,
    ExternalIdentity,
    HistoryItem,
    InboundKind,
    InboundMessage,
    IngestResult,
    KeptAside,
    utcnow,
)
from hub.optout import KeywordAction, OptKeyword, match_keyword
from hub.pipeline import IngestPipeline

__all__ = ["HubInbox", "KeywordHandler", "to_record"]

log = logging.getLogger(__name__)

_KIND = {InboundKind.CALL: InteractionKind.CALL, InboundKind.EVENT: InteractionKind.STATUS_CHANGE}

KeywordHandler = Callable[[InboundMessage, IngestResult, OptKeyword], Awaitable[None]]
"""Called after a keyword message is stored (the outbox sends the confirmation)."""


def _clean(message: InboundMessage, text: str | None) -> str | None:
    if text is None or "\x00" not in text:
        return text
    log.warning(
        "removed NUL characters from %s message %s (account %s)",
        message.identity.channel,
        message.external_message_id,
        message.identity.account,
    )
    return text.replace("\x00", "")


def _clean_json(message: InboundMessage, value: Any) -> Any:
    """``details`` without NUL characters (PostgreSQL's JSONB refuses them too)."""
    if isinstance(value, str):
        return _clean(message, value)
    if isinstance(value, Mapping):
        return {str(k): _clean_json(message, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(message, v) for v in value]
    return value


def _quiet(message: InboundMessage) -> bool:
    """Machine notices (auto-replies, read receipts, list mail) must not reopen a conversation."""
    machine = machine_mail(message.details)
    return machine is not None and machine not in MACHINE_MAIL_FOR_PEOPLE


MAX_REFERENCES = 50
"""References kept per message: the nearest ones and the thread's root (a crafted mail may list thousands)."""


def _references(message: InboundMessage) -> tuple[str, ...]:
    refs = [r for r in (_clean(message, r) for r in message.references) if r]
    kept = refs[: MAX_REFERENCES - 1] + refs[-1:] if len(refs) > MAX_REFERENCES else refs
    return tuple(dict.fromkeys(kept))


def to_record(message: InboundMessage, keyword: OptKeyword | None = None) -> InboundRecord:
    """The CRM's view of an inbound message; every string without NUL characters (PostgreSQL refuses
    them), whatever field a provider or a crafted email put them in."""
    hints = message.sender_hints
    opt_change = None
    if keyword is not None and keyword.action is not KeywordAction.HELP:
        opt_change = keyword.action.value
    clean = partial(_clean, message)
    return InboundRecord(
        channel=message.identity.channel,
        account=clean(message.identity.account) or "",
        external_id=clean(message.identity.external_id) or "",
        external_message_id=clean(message.external_message_id) or "",
        thread_key=clean(message.thread_key) or "",
        occurred_at=message.received_at,
        source_kind=message.kind.value,
        text=clean(message.text),
        attachments=[_clean_json(message, a.as_json()) for a in message.attachments],
        display_name=clean(hints.display_name),
        email=clean(hints.email),
        phone=clean(hints.phone),
        kind=_KIND.get(message.kind, InteractionKind.MESSAGE),
        verified=hints.verified,
        opt_change=opt_change,
        reply_to_external_id=clean(message.reply_to_external_id),
        references=_references(message),
        subject=clean(message.subject),
        details=None if message.details is None else _clean_json(message, message.details),
        quiet=_quiet(message),
        inline=tuple(
            InlineFile(
                position, clean(a.content_type) or "application/octet-stream", a.content, clean(a.filename)
            )
            for position, a in enumerate(message.attachments)
            if a.content is not None
        ),
    )


class HubInbox:
    """Channels' door into the hub."""

    def __init__(self, pipeline: IngestPipeline, db: Database) -> None:
        self._pipeline = pipeline
        self._db = db
        self.keyword_channels: frozenset[str] = frozenset()
        """Channels whose STOP/START/HELP messages change opt-out state (set once channels are built)."""
        self.on_keyword: KeywordHandler | None = None

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        """Store messages (deduplicated); returns once they are committed."""
        if not messages:
            return []
        keywords = [self._keyword(m) for m in messages]
        outcomes = await self._pipeline.store(
            [to_record(m, k) for m, k in zip(messages, keywords, strict=True)]
        )
        results = [
            IngestResult(str(o.interaction_id), str(o.conversation_id), str(o.contact_id), o.duplicate)
            for o in outcomes
        ]
        for message, keyword, result in zip(messages, keywords, results, strict=True):
            if keyword is not None and not result.duplicate and self.on_keyword is not None:
                await self._confirm(message, result, keyword)
        return results

    def _keyword(self, message: InboundMessage) -> OptKeyword | None:
        if message.identity.channel not in self.keyword_channels or message.kind is not InboundKind.TEXT:
            return None
        return match_keyword(message.text)

    async def _confirm(self, message: InboundMessage, result: IngestResult, keyword: OptKeyword) -> None:
        assert self.on_keyword is not None  # noqa: S101  (checked by the caller)
        try:
            await self.on_keyword(message, result, keyword)
        except Exception:  # boundary: the message is stored; a lost confirmation must not fail the webhook
            log.exception(
                "could not queue the %s confirmation for %s", keyword.action, message.external_message_id
            )

    async def record_delivery(self, updates: Sequence[DeliveryUpdate]) -> None:
        """Store delivery reports; statuses only move forward."""
        await self._pipeline.record_delivery(updates)

    async def keep_aside(self, items: Sequence[KeptAside]) -> None:
        """Keep unparseable traffic with its reason; returns once committed."""
        for item in items:
            log.warning(
                "kept aside %s traffic %s (account %s): %s",
                item.channel,
                item.provider_id or "without id",
                item.account,
                item.reason,
            )
        drafts = [
            KeptAsideDraft(
                i.channel, i.account, i.reason, i.body, i.content_type, i.received_at, i.provider_id
            )
            for i in items
        ]
        async with self._db.writer.begin() as conn:
            await keep_aside(conn, drafts, utcnow())

    async def history(self, identity: ExternalIdentity, *, limit: int = 50) -> list[HistoryItem]:
        """The identity's visible turns of its active conversation, oldest first."""
        async with self._db.reader.connect() as conn:
            turns = await identity_history(
                conn, identity.channel, identity.account, identity.external_id, limit=limit
            )
        return [
            HistoryItem(
                interaction_id=str(t.interaction_id),
                direction=t.direction,
                text=t.text,
                attachments=t.attachments,
                occurred_at=t.occurred_at,
                author_name=t.author_name,
                delivery_status=t.delivery_status,
            )
            for t in turns
        ]
