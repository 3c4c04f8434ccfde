"""The hub's own SMTP receiver (aiosmtpd), for mail a mail server forwards to us.

It runs on the hub's event loop (not aiosmtpd's ``Controller`` thread) and answers DATA with 250 only once
the message is stored or kept aside; a failure to store answers 451, so the sending server retries.
aiosmtpd holds each message (up to ``RECEIVER_MAX_BYTES``) in memory; parsing and storing it takes several
times that, so at most ``RECEIVER_CONCURRENCY`` messages are worked on at once and further sessions wait in
DATA (their senders time out only after minutes, RFC 5321 §4.5.3.2.6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.const import RECEIVER_CONCURRENCY, RECEIVER_MAX_BYTES

__all__ = ["SmtpReceiver", "parse_listen"]

log = logging.getLogger(__name__)

OK = "250 2.0.0 OK: stored"
TRY_LATER = "451 4.3.0 Could not store the message now; try again later"

Deliver = Callable[[bytes], Awaitable[None]]


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:2525`` for IPv6) as a pair; ValueError when malformed."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected host:port, e.g. 127.0.0.1:2525")
    return host.strip("[]"), int(port)


class _Handler:
    """aiosmtpd's handler hooks: every message goes to ``deliver`` while the client waits."""

    def __init__(self, deliver: Deliver, concurrency: int) -> None:
        self._deliver = deliver
        self._slots = asyncio.Semaphore(concurrency)
        self.waiting = 0
        """Messages received whose sessions wait in DATA for a slot."""
        self.working = 0
        """Messages being parsed and stored now (at most ``concurrency``)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.working += 1
        try:
            await self._deliver(raw)
        except Exception:  # task boundary: one message; the sender retries on 451
            log.exception("email: could not store a message received over SMTP; answered 451")
            return TRY_LATER
        finally:
            self.working -= 1
            self._slots.release()
        return OK


class SmtpReceiver:
    """Listens at ``host:port`` on the running loop while started."""

    def __init__(
        self,
        host: str,
        port: int,
        deliver: Deliver,
        *,
        hostname: str,
        concurrency: int = RECEIVER_CONCURRENCY,
    ) -> None:
        self.host = host
        self.port = port
        self._handler = _Handler(deliver, concurrency)
        self._hostname = hostname
        self._server: asyncio.Server | None = None

    @property
    def waiting(self) -> int:
        """Sessions whose message waits in DATA for one of the ``concurrency`` slots."""
        return self._handler.waiting

    @property
    def working(self) -> int:
        """Messages being parsed and stored now."""
        return self._handler.working

    def _protocol(self) -> Any:
        return SMTP(
            self._handler,
            hostname=self._hostname,
            data_size_limit=RECEIVER_MAX_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    async def start(self) -> None:
        """Open the listening socket; ``port`` is the bound port afterwards (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("email: SMTP receiver listening on %s:%s", self.host, self.port)

    async def close(self) -> None:
        """Stop listening and wait for open sessions to end."""
        if self._server is not None:
            self._server.close()
            close_clients = getattr(self._server, "close_clients", None)  # Python 3.12+
            if close_clients is not None:
                close_clients()
            await self._server.wait_closed()
            self._server = None
