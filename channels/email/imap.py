"""Inbound mail from an IMAP mailbox (aioimaplib): IDLE where the server offers it, polling elsewhere.

A durable UID checkpoint (``"<uidvalidity>:<last uid>"`` in the channel's state) makes a restart neither
lose nor repeat mail: it advances only after a message is stored (or kept aside). Without one (the first
run, or a new UIDVALIDITY, RFC 3501 §2.3.1.1: the mailbox was recreated) only mail of the last
``backfill_days`` days is read (``UID SEARCH SINCE``), or with 0 days only mail that arrives from now on
(the checkpoint starts at UIDNEXT - 1); the hub's dedup on Message-ID keeps a re-read from storing
anything twice. Messages are read with ``BODY.PEEK[]``, so the mailbox is left as it was (nothing marked
read, moved or deleted). Each message's RFC822.SIZE is fetched first: one over ``max_bytes`` is kept aside
(with its header) instead of being downloaded. A message that fails to store is retried on the next
sessions, and kept aside with the error once it has failed ``store_attempts`` times.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aioimaplib  # type: ignore[import-untyped]
from aioimaplib.aioimaplib import Command  # type: ignore[import-untyped]

from channels.email.const import (
    ENV_VAR_PREFIX,
    IDLE_RENEW_S,
    IMAP_FETCH_BATCH,
    IMAP_RETRY_S,
    KEPT_HEADER_BYTES,
    RECEIVER_MAX_BYTES,
    SECURITY_STARTTLS,
    SECURITY_TLS,
    STORE_ATTEMPTS,
)
from channels.email.failures import FailureCounts, failure_reason
from channels.email.imap_commands import (
    FetchedMail,
    ImapError,
    batches,
    fetch_literal,
    fetch_sizes,
    ok,
    parse_internaldate,
    search_uids,
    since,
    status_uidnext,
    uidnext,
    uidvalidity,
)
from hub.contract import ChannelState

__all__ = ["FetchedMail", "ImapError", "ImapMailbox", "ImapPoller", "parse_checkpoint", "parse_internaldate"]

log = logging.getLogger(__name__)

_TIMEOUT_S = 30.0

Deliver = Callable[[FetchedMail], Awaitable[None]]
KeepAside = Callable[[bytes, str, int], Awaitable[None]]
"""``(raw, reason, uid)``: keep a message aside instead of storing it."""


@dataclass(frozen=True, slots=True)
class ImapMailbox:
    """Which mailbox to read and how to log in."""

    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    security: str = SECURITY_TLS
    poll_s: float = 60.0
    ca_file: str | None = None
    backfill_days: int = 0
    """Without a checkpoint, read the mail of this many days back; 0: only mail that arrives from now on."""

    @property
    def state_key(self) -> str:
        return f"imap:{self.user}@{self.host}:{self.port}/{self.mailbox}"


def parse_checkpoint(value: str | None) -> tuple[int, int] | None:
    """``(uidvalidity, last uid)`` from a stored checkpoint; None when absent or unreadable."""
    if not value:
        return None
    validity, sep, last = value.partition(":")
    if not sep or not validity.isdigit() or not last.isdigit():
        return None
    return int(validity), int(last)


@dataclass(frozen=True, slots=True)
class _Backfill:
    """The first read of a mailbox without a checkpoint: of the UIDs up to ``top``, only ``uids``."""

    validity: int
    top: int
    uids: frozenset[int]

    def wanted(self, uid: int) -> bool:
        return uid > self.top or uid in self.uids


async def _starttls(client: aioimaplib.IMAP4, host: str, context: ssl.SSLContext) -> None:
    """RFC 3501 §6.2.1 STARTTLS (aioimaplib knows the command but has no call for it).

    Raises when the server refuses it, so that the caller never logs in without TLS.
    """
    protocol = client.protocol
    command = Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    response = await asyncio.wait_for(protocol.execute(command), _TIMEOUT_S)
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")
        raise ImapError(f"the server refused STARTTLS ({detail[:200]}); not logging in without TLS")
    loop = asyncio.get_running_loop()
    protocol.transport = await loop.start_tls(protocol.transport, protocol, context, server_hostname=host)
    await asyncio.wait_for(protocol.capability(), _TIMEOUT_S)  # capabilities may change under TLS


class ImapPoller:
    """Reads new mail from one mailbox and hands each message to ``deliver``, oldest first."""

    def __init__(
        self,
        mailbox: ImapMailbox,
        state: ChannelState,
        deliver: Deliver,
        keep_aside: KeepAside,
        *,
        idle_renew_s: float = IDLE_RENEW_S,
        retry_s: float = IMAP_RETRY_S,
        max_bytes: int = RECEIVER_MAX_BYTES,
        store_attempts: int = STORE_ATTEMPTS,
    ) -> None:
        self.mailbox = mailbox
        self._state = state
        self._deliver = deliver
        self._keep_aside = keep_aside
        self._idle_renew_s = idle_renew_s
        self._retry_s = retry_s
        self._max_bytes = max_bytes
        self._store_attempts = store_attempts
        self._failures = FailureCounts()
        self._backfill: _Backfill | None = None
        """Kept across sessions, so that a first read cut short still skips the old mail among its UIDs."""

    async def run_forever(self) -> None:
        """Stay connected; on any failure log it, wait, reconnect and resume from the checkpoint."""
        key = self.mailbox.state_key
        while True:
            try:
                await self.run_session()
            except asyncio.CancelledError:
                raise
            except ssl.SSLCertVerificationError as err:
                log.error(
                    "email: IMAP %s: the server's TLS certificate is not trusted (%s); "
                    "set %sIMAP_CA_FILE if a private CA signs it; reconnecting in %.0f s",
                    key,
                    err.verify_message or err,
                    ENV_VAR_PREFIX,
                    self._retry_s,
                )
            except ImapError as err:
                log.error("email: IMAP %s: %s; reconnecting in %.0f s", key, err, self._retry_s)
            except Exception:  # task boundary: the checkpoint is durable; resume after a pause
                log.exception("email: IMAP %s failed; reconnecting in %.0f s", key, self._retry_s)
            await asyncio.sleep(self._retry_s)

    async def _connect(self) -> aioimaplib.IMAP4:
        box = self.mailbox
        context = ssl.create_default_context(cafile=box.ca_file) if box.security != "none" else None
        client: aioimaplib.IMAP4
        if box.security == SECURITY_TLS:
            client = aioimaplib.IMAP4_SSL(box.host, box.port, timeout=_TIMEOUT_S, ssl_context=context)
        else:
            client = aioimaplib.IMAP4(box.host, box.port, timeout=_TIMEOUT_S)
        try:
            await client.wait_hello_from_server()
            if box.security == SECURITY_STARTTLS and context is not None:
                await _starttls(client, box.host, context)
            ok(await client.login(box.user, box.password), "LOGIN")
        except BaseException:
            _close(client)  # else every failed attempt would leave its connection open
            raise
        return client

    async def run_session(self) -> None:
        """One connection: select, catch up, then wait for more (IDLE or a pause) until it fails."""
        client = await self._connect()
        try:
            selected = ok(await client.select(self.mailbox.mailbox), "SELECT")
            validity = uidvalidity(selected)
            next_uid = uidnext(selected)
            while True:
                await self.catch_up(client, validity, next_uid)
                if client.has_capability("IDLE"):
                    await self._idle(client)
                else:
                    await asyncio.sleep(self.mailbox.poll_s)
                    ok(await client.noop(), "NOOP")
        finally:
            await _logout(client)

    async def _last_uid(self, client: aioimaplib.IMAP4, validity: int, uidnext: int | None) -> int:
        checkpoint = parse_checkpoint(await self._state.get(self.mailbox.state_key))
        if checkpoint is not None and checkpoint[0] == validity:
            return checkpoint[1]
        if checkpoint is not None:
            log.warning("email: %s has a new UIDVALIDITY (the mailbox was recreated)", self.mailbox.state_key)
        return await self._begin(client, validity, uidnext)

    async def _begin(self, client: aioimaplib.IMAP4, validity: int, uidnext: int | None) -> int:
        """No checkpoint: start one after the old mail, so that years of history are not read as new."""
        key, days = self.mailbox.state_key, self.mailbox.backfill_days
        if uidnext is None:
            uidnext = await status_uidnext(client, self.mailbox.mailbox)
        top = uidnext - 1
        uids: list[int] = []
        if days > 0:
            found = ok(await client.uid_search(f"SINCE {since(days)}", charset=None), "UID SEARCH")
            uids = [uid for uid in search_uids(found) if uid <= top]
        start = uids[0] - 1 if uids else top
        await self._state.put(key, f"{validity}:{start}")
        self._backfill = _Backfill(validity, top, frozenset(uids))
        if days > 0:
            log.info(
                "email: IMAP %s: no checkpoint; reading the %d messages of the last %d days (from UID %d)",
                key,
                len(uids),
                days,
                start + 1,
            )
        else:
            log.info(
                "email: IMAP %s: no checkpoint; reading only mail that arrives from now on (after UID %d); "
                "set %sIMAP_BACKFILL_DAYS to read older mail",
                key,
                top,
                ENV_VAR_PREFIX,
            )
        return start

    async def catch_up(self, client: aioimaplib.IMAP4, validity: int, uidnext: int | None = None) -> int:
        """Deliver every message after the checkpoint, advancing it after each; return how many."""
        last = await self._last_uid(client, validity, uidnext)
        found = ok(await client.uid_search(f"UID {last + 1}:*", charset=None), "UID SEARCH")
        uids = [uid for uid in search_uids(found) if uid > last]
        backfill = self._backfill
        if backfill is not None and backfill.validity == validity:
            uids = [uid for uid in uids if backfill.wanted(uid)]
            if last >= backfill.top:
                self._backfill = None
        for batch in batches(uids, IMAP_FETCH_BATCH):
            sizes = await fetch_sizes(client, batch)
            for uid in batch:
                await self._take(client, validity, uid, sizes.get(uid))
                await self._state.put(self.mailbox.state_key, f"{validity}:{uid}")
        return len(uids)

    async def _take(self, client: aioimaplib.IMAP4, validity: int, uid: int, size: int | None) -> None:
        """Store one message, or keep it aside (too large, or failed too often); raise to retry it later.

        Without a size (expunged meanwhile, or a server that did not say) it is fetched all the same: a
        message that is gone fetches nothing and is passed, and none is passed unread for want of a size.
        """
        if size is not None and size > self._max_bytes:
            header = await fetch_literal(client, uid, f"BODY.PEEK[HEADER]<0.{KEPT_HEADER_BYTES}>")
            await self._keep_aside(header.raw if header else b"", f"too large: {size} bytes", uid)
            return
        mail = await fetch_literal(client, uid, "INTERNALDATE BODY.PEEK[]")
        if mail is None:
            return
        try:
            await self._deliver(mail)
        except Exception as err:
            # A store that keeps failing on this message must not hold up the mail behind it.
            failures = self._failures.add((validity, uid))
            if failures < self._store_attempts:
                raise
            await self._keep_aside(mail.raw, failure_reason(err, failures), uid)
        self._failures.forget((validity, uid))

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        """Wait in IDLE until the server reports new mail or the IDLE is due for renewal."""
        idle = await client.idle_start(timeout=self._idle_renew_s)
        try:
            while client.has_pending_idle():
                pushed = await client.wait_server_push(timeout=self._idle_renew_s + _TIMEOUT_S)
                if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                if any(b"EXISTS" in bytes(line) for line in pushed):
                    break
        finally:
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(idle, _TIMEOUT_S)


async def _logout(client: aioimaplib.IMAP4) -> None:
    try:
        await asyncio.wait_for(client.logout(), 5)
    except (aioimaplib.AioImapException, OSError, TimeoutError) as err:
        log.debug("email: IMAP logout failed: %s", err)
    finally:
        _close(client)  # a server that did not answer LOGOUT may still hold the connection open


def _close(client: aioimaplib.IMAP4) -> None:
    """Drop the connection (aioimaplib closes it only when the server does)."""
    transport = client.protocol.transport
    if transport is not None and not transport.is_closing():
        transport.close()
