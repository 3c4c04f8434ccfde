"""Fixtures of the email channel's tests: a real SMTP server (aiosmtpd) on loopback, TLS made by trustme."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.email import CHANNEL, EmailChannel, EmailSettings
from hub.contract import ChannelContext, ChannelState, Inbox
from hub.keys import CHANNELS
from tests.channels.conftest import ChannelHub, MakeHub
from tests.channels.email.mails import OURS

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-test-password"


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    """A real aiosmtpd server on the test's loop that keeps what it receives."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """Recipient -> SMTP reply to RCPT TO (``"550 5.1.1 no such user"``)."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        assert isinstance(content, bytes)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)


StartSmtp = Callable[..., Awaitable[SmtpServer]]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
async def start_smtp() -> AsyncIterator[StartSmtp]:
    """``await start_smtp(starttls=ctx, auth=True, implicit_tls=ctx)``: a server on a free port."""
    servers: list[asyncio.Server] = []

    async def start(
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        auth: bool = False,
    ) -> SmtpServer:
        recorder = SmtpServer()

        def protocol() -> SMTP:
            return SMTP(
                recorder,
                hostname="mx.test",
                tls_context=starttls,
                require_starttls=starttls is not None,
                auth_required=auth,
                auth_require_tls=starttls is not None,
                authenticator=recorder.authenticate if auth else None,
            )

        server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0, ssl=implicit_tls)
        servers.append(server)
        recorder.port = server.sockets[0].getsockname()[1]
        return recorder

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@dataclass
class MemoryState:
    """A ChannelState in a dict, for tests that need no database."""

    values: dict[str, str] = field(default_factory=dict)

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def put(self, key: str, value: str) -> None:
        self.values[key] = value


def make_channel(inbox: Inbox, state: ChannelState | None = None, **settings: Any) -> EmailChannel:
    """The channel as the registry builds it, for our test mailbox."""
    values: dict[str, Any] = {"address": OURS, **settings}
    context = ChannelContext(inbox, None, state=state or MemoryState())
    channel = CHANNEL.build(CHANNEL.name, EmailSettings(**values), context)
    assert isinstance(channel, EmailChannel)
    return channel


@dataclass
class EmailHub:
    """A started hub with the email channel on, its SMTP receiver listening on a free port."""

    hub: ChannelHub
    channel: EmailChannel

    @property
    def port(self) -> int:
        assert self.channel.receiver is not None
        return self.channel.receiver.port

    async def deliver(self, *raws: bytes) -> list[int]:
        """Send each message over SMTP in one session, as a forwarding mail server would; the reply codes."""
        codes = []
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=self.port, local_hostname="mx.test", start_tls=False
        ) as client:
            for raw in raws:
                try:
                    await client.sendmail("relay@mx.test", [OURS], raw)
                    codes.append(250)
                except aiosmtplib.SMTPResponseException as err:
                    codes.append(err.code)
        return codes

    async def stored(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every (conversation, interaction) pair, oldest conversation last."""
        pairs = []
        for conversation in (await self.hub.get_json("/api/v1/conversations"))["items"]:
            path = f"/api/v1/conversations/{conversation['id']}/interactions"
            pairs += [(conversation, i) for i in (await self.hub.get_json(path))["items"]]
        return pairs

    async def kept(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.hub.get_json("/api/v1/kept-aside"))["items"]
        return items


StartHub = Callable[..., Awaitable[EmailHub]]


@pytest.fixture
def start_hub(make_hub: MakeHub) -> StartHub:
    """``await start_hub(SWITCHBOARD_EMAIL_SMTP_HOST=...)``: a hub whose email channel receives mail."""

    async def start(**env: str) -> EmailHub:
        settings = {
            "SWITCHBOARD_EMAIL_ADDRESS": OURS,
            "SWITCHBOARD_EMAIL_SMTP_LISTEN": "127.0.0.1:0",
            **{f"SWITCHBOARD_EMAIL_{k.upper()}": v for k, v in env.items()},
        }
        hub = await make_hub(settings)
        [found] = [d for d in hub.app[CHANNELS] if d.spec.name == "email"]
        assert isinstance(found.channel, EmailChannel)
        return EmailHub(hub, found.channel)

    return start
