"""Inbound mail from an IMAP mailbox (aioimaplib): IDLE where the server offers it, polling elsewhere.

A durable UID checkpoint (``"<uidvalidity>:<last uid>"`` in the channel's state) makes a restart neither
lose nor repeat mail: it advances only after a message is stored (or kept aside). A new UIDVALIDITY
(RFC 3501 §2.3.1.1: the mailbox was recreated) starts over from its first UID; the hub's dedup on
Message-ID keeps that from storing anything twice. Messages are read with ``BODY.PEEK[]``, so the
mailbox is left as it was (nothing marked read, moved or deleted).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aioimaplib  # type: ignore[import-untyped]
from aioimaplib.aioimaplib import Command  # type: ignore[import-untyped]

from channels.email.const import (
    ENV_VAR_PREFIX,
    IDLE_RENEW_S,
    IMAP_RETRY_S,
    SECURITY_STARTTLS,
    SECURITY_TLS,
)
from hub.contract import ChannelState

__all__ = ["ImapError", "ImapMailbox", "ImapPoller", "parse_checkpoint"]

log = logging.getLogger(__name__)

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)\b")
_TIMEOUT_S = 30.0

Deliver = Callable[[bytes, int], Awaitable[None]]


class ImapError(Exception):
    """The server refused a command."""


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


def _ok(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")
        raise ImapError(f"{what} refused: {detail[:200]}")
    return response


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
        *,
        idle_renew_s: float = IDLE_RENEW_S,
        retry_s: float = IMAP_RETRY_S,
    ) -> None:
        self.mailbox = mailbox
        self._state = state
        self._deliver = deliver
        self._idle_renew_s = idle_renew_s
        self._retry_s = retry_s

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
            _ok(await client.login(box.user, box.password), "LOGIN")
        except BaseException:
            _close(client)  # else every failed attempt would leave its connection open
            raise
        return client

    async def run_session(self) -> None:
        """One connection: select, catch up, then wait for more (IDLE or a pause) until it fails."""
        client = await self._connect()
        try:
            selected = _ok(await client.select(self.mailbox.mailbox), "SELECT")
            validity = _uidvalidity(selected)
            while True:
                await self.catch_up(client, validity)
                if client.has_capability("IDLE"):
                    await self._idle(client)
                else:
                    await asyncio.sleep(self.mailbox.poll_s)
                    _ok(await client.noop(), "NOOP")
        finally:
            await _logout(client)

    async def _last_uid(self, validity: int) -> int:
        checkpoint = parse_checkpoint(await self._state.get(self.mailbox.state_key))
        if checkpoint is None or checkpoint[0] != validity:
            if checkpoint is not None:
                log.warning("email: %s has a new UIDVALIDITY; reading it again", self.mailbox.state_key)
            return 0
        return checkpoint[1]

    async def catch_up(self, client: aioimaplib.IMAP4, validity: int) -> int:
        """Deliver every message after the checkpoint, advancing it after each; return how many."""
        last = await self._last_uid(validity)
        found = _ok(await client.uid_search(f"UID {last + 1}:*", charset=None), "UID SEARCH")
        uids = sorted({int(t) for t in found.lines[0].split() if t.isdigit() and int(t) > last})
        for uid in uids:
            raw = await _fetch(client, uid)
            if raw is not None:  # expunged meanwhile: nothing to store, but move past it
                await self._deliver(raw, uid)
            await self._state.put(self.mailbox.state_key, f"{validity}:{uid}")
        return len(uids)

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


def _uidvalidity(response: aioimaplib.Response) -> int:
    for line in response.lines:
        if match := _UIDVALIDITY.search(bytes(line)):
            return int(match.group(1))
    raise ImapError("SELECT answered no UIDVALIDITY")


async def _fetch(client: aioimaplib.IMAP4, uid: int) -> bytes | None:
    response = _ok(await client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "UID FETCH")
    for index, line in enumerate(response.lines):
        if isinstance(line, bytearray) and index > 0:
            header = bytes(response.lines[index - 1])
            match = _FETCH_UID.search(header)
            if match is None or int(match.group(1)) == uid:
                return bytes(line)
    return None


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
