"""The outbox: replies are queued with their interaction, then sent, retried with backoff, or dead-lettered.

``queue`` checks what can be known before sending (the conversation, an enabled channel, opt-out, the
customer-service window) and stores the reply; a sender task claims due replies (with a lease, so several
hub processes share the work), calls the channel, and records the provider's id or the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from crm_core.db import Database
from crm_core.errors import NotFoundError
from crm_core.media import upload_contents
from crm_core.outbox import (
    DueReply,
    QueuedReply,
    ReplyDraft,
    ReplyTarget,
    claim_due,
    mark_dead,
    mark_retry,
    mark_sent,
    queue_reply,
    reply_target,
    thread_references,
)
from hub.contract import Channel
from hub.errors import Conflict, NotFound, OutsideServiceWindow, PermanentSendError, TemporarySendError
from hub.messages import Attachment, ExternalIdentity, InboundMessage, IngestResult, OutboundMessage, utcnow
from hub.metrics import Metrics
from hub.optout import OptKeyword
from hub.pipeline import IngestPipeline

__all__ = ["Outbox"]

log = logging.getLogger(__name__)


class Outbox:
    """Queues replies and sends them through their channels."""

    def __init__(
        self,
        db: Database,
        pipeline: IngestPipeline,
        metrics: Metrics,
        *,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 3600.0,
        poll_seconds: float = 1.0,
        concurrency: int = 16,
    ) -> None:
        self._db = db
        self._pipeline = pipeline
        self._metrics = metrics
        self.channels: Mapping[str, Channel[object]] = {}
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._poll = poll_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._send_forever(), name="outbox-sender")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Look for due replies now instead of at the next poll."""
        self._wake.set()

    async def queue(
        self, conversation_id: uuid.UUID, draft: ReplyDraft, *, identity_id: uuid.UUID | None = None
    ) -> QueuedReply:
        """Store a reply (or private note) after the checks that can be made before sending."""
        try:
            async with self._db.reader.connect() as conn:
                target = await reply_target(conn, conversation_id, identity_id)
        except NotFoundError as err:
            raise NotFound(str(err)) from err
        if not draft.private:
            self._check_sendable(target, draft)
        async with self._db.writer.begin() as conn:
            queued = await queue_reply(conn, target, draft, utcnow())
        self._pipeline.notify_committed(queued.events)
        if not draft.private and not queued.duplicate:
            self.wake()
        return queued

    def _check_sendable(self, target: ReplyTarget, draft: ReplyDraft) -> None:
        channel = self.channels.get(target.channel)
        if channel is None:
            raise Conflict(f"channel {target.channel!r} is not enabled on this hub", code="channel_disabled")
        if target.recipient is None:
            raise Conflict("this conversation's contact has no address on its channel", code="no_recipient")
        if target.opted_out_at is not None and not draft.system:
            raise Conflict(
                "the customer opted out (STOP) on this address; nothing can be sent until they send START",
                code="opted_out",
            )
        window = channel.reply_window(ExternalIdentity(target.channel, target.account, target.recipient))
        if window is None or draft.template is not None:
            return
        last = target.last_inbound_at
        if last is None or utcnow() - last > window:
            hours = window.total_seconds() / 3600
            raise OutsideServiceWindow(
                f"the customer last wrote more than {hours:g} hours ago: only a template message can be sent"
            )

    async def confirm_keyword(
        self, message: InboundMessage, result: IngestResult, keyword: OptKeyword
    ) -> None:
        """Answer STOP/START/HELP with its confirmation (sent even to an opted-out address)."""
        draft = ReplyDraft(
            text=keyword.confirmation,
            system=True,
            idempotency_key=f"keyword:{message.external_message_id}",
        )
        await self.queue(uuid.UUID(result.conversation_id), draft)

    async def _send_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()
            try:
                while await self.send_due():
                    pass
            except Exception:  # task boundary: the sender must outlive a database hiccup
                log.exception("outbox sender failed; retrying at the next poll")

    async def send_due(self, limit: int = 32) -> int:
        """Claim and send one round of due replies; returns how many were claimed."""
        async with self._db.writer.begin() as conn:
            due = await claim_due(conn, utcnow(), limit=limit)
        if due:
            await asyncio.gather(*(self._send_one(item) for item in due))
        return len(due)

    async def _send_one(self, item: DueReply) -> None:
        async with self._limit:
            try:
                result = await self._deliver(item)
            except TemporarySendError as err:
                await self._failed_for_now(item, err)
            except PermanentSendError as err:
                await self._dead(item, err.detail, err.provider_code)
            except Exception as err:  # boundary: a channel bug must not lose the reply or stop the sender
                log.exception("channel %s crashed sending %s", item.channel, item.interaction_id)
                await self._failed_for_now(item, TemporarySendError(f"channel error: {err}"))
            else:
                async with self._db.writer.begin() as conn:
                    events = await mark_sent(conn, item, result, utcnow())
                self._pipeline.notify_committed(events)
                self._metrics.replies.labels(item.channel, "sent").inc()

    async def _deliver(self, item: DueReply) -> str:
        if item.opted_out and not item.options.get("system"):
            raise PermanentSendError("the customer opted out before this was sent", provider_code="opted_out")
        channel = self.channels.get(item.channel)
        if channel is None:
            raise TemporarySendError(f"channel {item.channel!r} is not enabled on this hub process")
        template = item.options.get("template")
        references: tuple[str, ...] = ()
        if channel.threads_by_reference:
            async with self._db.reader.connect() as conn:
                references = await thread_references(conn, item)
        attachments = tuple(_attachment(a) for a in item.attachments)
        if channel.attaches_files:
            attachments = await self._with_contents(item, attachments)
        message = OutboundMessage(
            interaction_id=str(item.interaction_id),
            conversation_id=str(item.conversation_id),
            recipient=ExternalIdentity(item.channel, item.account, item.recipient),
            idempotency_key=str(item.interaction_id),
            text=item.text,
            attachments=attachments,
            reply_to_external_id=item.options.get("reply_to_external_id"),
            template=template if isinstance(template, dict) else None,
            author_name=item.author_name,
            subject=item.subject,
            references=references,
            thread_key=item.thread_key,
            automatic=item.automatic,
        )
        result = await channel.send(message)
        return result.external_message_id

    async def _with_contents(
        self, item: DueReply, attachments: tuple[Attachment, ...]
    ) -> tuple[Attachment, ...]:
        """The agent's uploaded files with their bytes, for a channel that sends them itself."""
        stored = [_stored_id(a) for a in item.attachments]
        async with self._db.reader.connect() as conn:
            contents = await upload_contents(conn, [i for i in stored if i is not None])
        return tuple(
            replace(a, content=contents[i]) if i is not None and i in contents else a
            for a, i in zip(attachments, stored, strict=True)
        )

    async def _failed_for_now(self, item: DueReply, err: TemporarySendError) -> None:
        if item.attempts + 1 >= self.max_attempts:
            await self._dead(
                item, f"gave up after {item.attempts + 1} attempts: {err.detail}", err.provider_code
            )
            return
        delay = min(self.max_delay, self.base_delay * 2**item.attempts) * random.uniform(0.8, 1.2)  # noqa: S311
        if err.retry_after is not None:
            delay = max(delay, err.retry_after)
        now = utcnow()
        async with self._db.writer.begin() as conn:
            await mark_retry(conn, item, err.detail, err.provider_code, now + timedelta(seconds=delay), now)
        self._metrics.replies.labels(item.channel, "retry").inc()
        log.info(
            "reply %s to %s: %s; retrying in %.1f s", item.interaction_id, item.channel, err.detail, delay
        )

    async def _dead(self, item: DueReply, detail: str, provider_code: str | None) -> None:
        async with self._db.writer.begin() as conn:
            events = await mark_dead(conn, item, detail, provider_code, utcnow())
        self._pipeline.notify_committed(events)
        self._metrics.replies.labels(item.channel, "dead").inc()
        log.warning(
            "reply %s to %s failed for good (%s): %s",
            item.interaction_id,
            item.channel,
            provider_code,
            detail,
        )


def _stored_id(data: Mapping[str, object]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(data["stored_id"])) if data.get("stored_id") else None
    except ValueError:
        return None


def _attachment(data: Mapping[str, object]) -> Attachment:
    url, filename, media_id, size = (data.get(k) for k in ("url", "filename", "media_id", "size"))
    return Attachment(
        content_type=str(data.get("content_type") or "application/octet-stream"),
        url=str(url) if url else None,
        filename=str(filename) if filename else None,
        # A provider's own file id lets a channel resend a file it already holds (Telegram's file_id).
        media_id=str(media_id) if media_id else None,
        size=size if isinstance(size, int) else None,
    )
