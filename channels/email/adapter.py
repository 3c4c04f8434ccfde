"""Wiring of the email channel: IMAP poller and SMTP receiver in, SMTP out, both inbound paths alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiohttp import web

from channels.email.compose import compose_reply
from channels.email.const import (
    DEFAULT_IMAP_POLL_S,
    DEFAULT_IMAP_PORTS,
    DEFAULT_SMTP_PORTS,
    ENV_VAR_PREFIX,
    INLINE_PARSE_MAX_BYTES,
    RAW_CONTENT_TYPE,
    SECURITY_STARTTLS,
    SECURITY_TLS,
    SMTP_TRY_LATER_TIMES,
)
from channels.email.failures import FailureCounts, failure_reason
from channels.email.imap import FetchedMail, ImapMailbox, ImapPoller
from channels.email.parse import Unparseable, hashed_id, parse_email, provider_id
from channels.email.receiver import SmtpReceiver, parse_listen
from channels.email.smtp_out import SmtpSender
from hub.contract import Channel, ChannelContext
from hub.errors import ConfigError, PermanentSendError
from hub.messages import KeptAside, OutboundMessage, SendResult, utcnow

__all__ = ["EmailChannel", "EmailSettings"]

log = logging.getLogger(__name__)

Security = Literal["tls", "starttls", "none"]
_REASON_LIMIT = 200


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """``SWITCHBOARD_EMAIL_ADDRESS`` (required) and the ``_IMAP_*``, ``_SMTP_*`` settings; see README.md."""

    address: str
    """Our mailbox address: the account of every identity, and the From of our replies."""
    imap_host: str | None = None
    imap_port: int | None = None
    """Default: 993 for tls, 143 otherwise."""
    imap_user: str | None = None
    """Default: the address."""
    imap_password: str | None = None
    imap_mailbox: str = "INBOX"
    imap_security: Security = SECURITY_TLS
    imap_poll_s: float = DEFAULT_IMAP_POLL_S
    imap_ca_file: str | None = None
    """CA bundle to trust instead of the system's (a private CA)."""
    imap_backfill_days: int = 0
    """Without a checkpoint, read the mail of this many days back; 0: only mail that arrives from now on."""
    smtp_host: str | None = None
    smtp_port: int | None = None
    """Default: 465 for tls, 587 for starttls, 25 for none."""
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: Security = SECURITY_STARTTLS
    smtp_ca_file: str | None = None
    smtp_listen: str | None = None
    """``host:port`` where the hub's own SMTP receiver listens (``SWITCHBOARD_EMAIL_SMTP_LISTEN``)."""
    message_id_domain: str | None = None
    """The right-hand side of our Message-IDs; default: the address's domain."""


def _check(settings: EmailSettings) -> tuple[str, str, tuple[str, int] | None]:
    """Validate what types cannot; return ``(account, message-id domain, receiver address)``."""
    address = settings.address.strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or not domain or " " in address:
        raise ConfigError(f"{ENV_VAR_PREFIX}ADDRESS", "expected a mailbox address, e.g. support@example.com")
    listen = None
    if settings.smtp_listen:
        try:
            listen = parse_listen(settings.smtp_listen)
        except ValueError as err:
            raise ConfigError(f"{ENV_VAR_PREFIX}SMTP_LISTEN", str(err)) from err
    if settings.imap_host and not settings.imap_password:
        raise ConfigError(f"{ENV_VAR_PREFIX}IMAP_PASSWORD", "required when IMAP_HOST is set")
    if settings.imap_poll_s <= 0:
        raise ConfigError(f"{ENV_VAR_PREFIX}IMAP_POLL_S", "must be positive")
    if settings.imap_backfill_days < 0:
        raise ConfigError(f"{ENV_VAR_PREFIX}IMAP_BACKFILL_DAYS", "must be 0 or more")
    return address, (settings.message_id_domain or domain).strip().lower(), listen


class EmailChannel(Channel[EmailSettings]):
    """Email: IMAP mailboxes and an SMTP receiver in, SMTP out."""

    threads_by_reference = True
    attaches_files = True

    def __init__(self, name: str, settings: EmailSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        self.account, self.domain, listen = _check(settings)
        self.receiver = (
            SmtpReceiver(listen[0], listen[1], self.handle_received, hostname=self.domain) if listen else None
        )
        self._refused = FailureCounts()
        """451s answered per message received over SMTP (by Message-ID, else by its bytes' hash)."""
        self.poller = self._poller()
        self._poller_task: asyncio.Task[None] | None = None
        self._sender = self._smtp_sender()

    def _poller(self) -> ImapPoller | None:
        s = self.settings
        if not s.imap_host:
            return None
        if self.context.state is None:
            raise ConfigError(f"{ENV_VAR_PREFIX}IMAP_HOST", "this hub keeps no channel state for checkpoints")
        mailbox = ImapMailbox(
            host=s.imap_host,
            port=s.imap_port or DEFAULT_IMAP_PORTS[s.imap_security],
            user=s.imap_user or self.account,
            password=s.imap_password or "",
            mailbox=s.imap_mailbox,
            security=s.imap_security,
            poll_s=s.imap_poll_s,
            ca_file=s.imap_ca_file,
            backfill_days=s.imap_backfill_days,
        )
        return ImapPoller(mailbox, self.context.state, self.handle_fetched, self.keep_aside)

    def _smtp_sender(self) -> SmtpSender | None:
        s = self.settings
        if not s.smtp_host:
            return None
        return SmtpSender(
            host=s.smtp_host,
            port=s.smtp_port or DEFAULT_SMTP_PORTS[s.smtp_security],
            security=s.smtp_security,
            username=s.smtp_user,
            password=s.smtp_password,
            local_hostname=self.domain,
            ca_file=s.smtp_ca_file,
        )

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return []  # mail arrives by IMAP and SMTP, never by webhook

    async def handle_raw(
        self, raw: bytes, *, uid: int | None = None, received_at: datetime | None = None
    ) -> None:
        """The one path of every received message: parse, then store (or keep aside) and record reports.

        ``received_at`` is when the mail server received it (IMAP's INTERNALDATE); default, and at most, now
        (a server clock ahead of ours must not date mail in the future). Returns once committed; raises only
        when storing failed (the caller retries the message).
        """
        now = utcnow()
        received_at = now if received_at is None else min(received_at, now)
        try:
            if len(raw) > INLINE_PARSE_MAX_BYTES:  # a big message would hold the event loop up
                parsed = await asyncio.to_thread(
                    parse_email, raw, account=self.account, received_at=received_at
                )
            else:
                parsed = parse_email(raw, account=self.account, received_at=received_at)
        except Unparseable as err:
            await self.keep_aside(raw, err.reason, uid)
            return
        except Exception as err:  # task boundary: one message the parser cannot handle stops nothing
            log.exception("email: the parser failed on a message; keeping it aside")
            await self.keep_aside(raw, f"parser error: {type(err).__name__}: {err}"[:_REASON_LIMIT], uid)
            return
        await self.context.inbox.ingest([parsed.message])
        if parsed.report is not None:
            await self.context.inbox.record_delivery([parsed.report])

    async def handle_fetched(self, mail: FetchedMail) -> None:
        """A message read over IMAP, dated by the server's INTERNALDATE when it gave one."""
        await self.handle_raw(mail.raw, uid=mail.uid, received_at=mail.internal_date)

    async def handle_received(self, raw: bytes) -> None:
        """A message received over SMTP: raise (451) when it cannot be stored, but not forever.

        A message that fails to store every time (not a database that is away, since keeping it aside
        then fails too) would otherwise be retried by the sender for days and never reach anyone.
        """
        try:
            await self.handle_raw(raw)
        except Exception as err:
            key = provider_id(raw) or hashed_id(raw)
            failures = self._refused.add(key)
            if failures <= SMTP_TRY_LATER_TIMES:
                raise
            await self.keep_aside(raw, failure_reason(err, failures), None)
            self._refused.forget(key)

    async def keep_aside(self, raw: bytes, reason: str, uid: int | None = None) -> None:
        """Keep a message aside with the reason (and its IMAP UID as the label when it has no Message-ID)."""
        label = provider_id(raw) or (f"uid:{uid}" if uid is not None else None)
        log.warning("email: keeping aside %s: %s", label or "a message", reason)
        item = KeptAside(self.name, self.account, reason, raw, RAW_CONTENT_TYPE, utcnow(), label)
        await self.context.inbox.keep_aside([item])

    async def send(self, message: OutboundMessage) -> SendResult:
        if self._sender is None:
            raise PermanentSendError(f"set {ENV_VAR_PREFIX}SMTP_HOST to send email", code="no_sender")
        mail, message_id = compose_reply(message, from_address=self.account, domain=self.domain, now=utcnow())
        await self._sender.send(mail)
        return SendResult(external_message_id=message_id)

    async def start(self) -> None:
        if self.receiver is not None:
            await self.receiver.start()
        if self.poller is not None:
            self._poller_task = asyncio.create_task(self.poller.run_forever(), name="email-imap-poller")

    async def close(self) -> None:
        if self._poller_task is not None:
            self._poller_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller_task
            self._poller_task = None
        if self.receiver is not None:
            await self.receiver.close()
