"""IMAP over TLS against a real dovecot with a trustme certificate: implicit TLS, STARTTLS, refusals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from channels.email.imap import ImapMailbox, ImapPoller
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import MemoryState, StartHub, make_channel
from tests.channels.email.dovecot import Dovecot, running_dovecot
from tests.channels.email.mails import mail
from tests.waiting import eventually

pytestmark = pytest.mark.slow

POLLER_LOG = "channels.email.imap"
WIRE_LOG = "aioimaplib.aioimaplib"  # logs every command it sends (the password scrubbed) at DEBUG


@pytest.fixture
def tls_dovecot(ca: trustme.CA) -> Iterator[Dovecot]:
    with running_dovecot(ca=ca) as server:
        yield server


@pytest.fixture
def plain_dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:  # ssl = no: the server offers no STARTTLS
        yield server


def _count(inbox: RecordingInbox, n: int) -> Any:
    async def check() -> bool:
        return len(inbox.messages) + len(inbox.kept) >= n

    return check


def _logged(caplog: pytest.LogCaptureFixture, text: str, n: int = 1) -> Any:
    async def check() -> list[str]:
        lines = [r.getMessage() for r in caplog.records if r.name == POLLER_LOG and text in r.getMessage()]
        return lines if len(lines) >= n else []

    return check


def _in_server_log(read: Callable[[], list[str]], n: int = 1) -> Any:
    async def check() -> list[str]:
        lines = read()
        return lines if len(lines) >= n else []

    return check


def _sent(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WIRE_LOG and "Sending" in r.getMessage()]


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_implicit_tls_trusting_the_ca_file_ingests_and_checkpoints(
    tls_dovecot: Dovecot, ca_file: str, start_hub: StartHub
) -> None:
    tls_dovecot.append(mail("over implicit TLS", message_id="<t1@x>"))
    # No IMAP_SECURITY: tls is the default.
    email = await start_hub(
        imap_host=tls_dovecot.host,
        imap_port=str(tls_dovecot.tls_port),
        imap_user=tls_dovecot.user,
        imap_password=tls_dovecot.password,
        imap_ca_file=ca_file,
        imap_poll_s="3600",
        imap_backfill_days="1",  # the mail is there before the first connection
    )

    async def stored() -> bool:
        return len(await email.stored()) == 1

    await eventually(stored, what="the mail read over implicit TLS to be stored")
    [(_, interaction)] = await email.stored()
    assert interaction["external_message_id"] == "t1@x"
    assert email.channel.poller is not None and email.channel.poller.mailbox.security == "tls"
    assert email.channel.context.state is not None
    value = await email.channel.context.state.get(email.channel.poller.mailbox.state_key)
    assert value is not None and value.endswith(":1")
    await eventually(_in_server_log(tls_dovecot.tls_logins), what="dovecot to log the login over TLS")


async def test_starttls_trusting_the_ca_file_ingests_checkpoints_and_idles(
    tls_dovecot: Dovecot, ca_file: str
) -> None:
    inbox, state = RecordingInbox(), MemoryState()
    channel = make_channel(
        inbox,
        state,
        imap_host=tls_dovecot.host,
        imap_port=tls_dovecot.port,
        imap_user=tls_dovecot.user,
        imap_password=tls_dovecot.password,
        imap_security="starttls",
        imap_ca_file=ca_file,
        imap_poll_s=3600.0,  # only an IDLE push (over the upgraded connection) brings the second mail
        imap_backfill_days=1,  # the first mail is there before the first connection
    )
    tls_dovecot.append(mail("before start", message_id="<s1@x>"))
    await channel.start()
    try:
        await eventually(_count(inbox, 1), what="the mail already there")
        [login] = await eventually(_in_server_log(tls_dovecot.tls_logins), what="the login over TLS")
        assert tls_dovecot.user in login
        await asyncio.sleep(0.3)  # let the poller enter IDLE
        tls_dovecot.append(mail("while idle", message_id="<s2@x>"))
        await eventually(_count(inbox, 2), what="the IDLE push over TLS to bring the new mail")
    finally:
        await channel.close()
    assert [m.external_message_id for m in inbox.messages] == ["s1@x", "s2@x"]
    assert inbox.messages[1].text == "while idle"
    [value] = state.values.values()
    assert value.endswith(":2")


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_an_untrusted_certificate_is_refused_and_retried(
    tls_dovecot: Dovecot, security: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE_LOG)
    tls_dovecot.append(mail("must not be read", message_id="<n1@x>"))
    port = tls_dovecot.tls_port if security == "tls" else tls_dovecot.port
    assert port is not None
    # No CA file: the system's trust store, which does not know the test CA.
    mailbox = ImapMailbox(tls_dovecot.host, port, tls_dovecot.user, tls_dovecot.password, security=security)
    inbox, state = RecordingInbox(), MemoryState()
    task = asyncio.create_task(ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05).run_forever())
    try:
        lines = await eventually(
            _logged(caplog, "certificate is not trusted", n=3), what="three refused attempts"
        )
        assert not task.done()  # it keeps retrying; nothing is raised to the hub
    finally:
        await _stop(task)
    assert "IMAP_CA_FILE" in lines[0] and "unable to get local issuer certificate" in lines[0]
    assert inbox.messages == [] and state.values == {}
    assert not [line for line in _sent(caplog) if "LOGIN" in line]
    await eventually(
        _in_server_log(tls_dovecot.unauthenticated_disconnects, n=3), what="dovecot to log no auth attempts"
    )


async def test_through_the_hub_an_untrusted_certificate_leaves_the_hub_running(
    tls_dovecot: Dovecot, start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    tls_dovecot.append(mail("must not be stored", message_id="<n2@x>"))
    email = await start_hub(
        imap_host=tls_dovecot.host,
        imap_port=str(tls_dovecot.tls_port),
        imap_user=tls_dovecot.user,
        imap_password=tls_dovecot.password,
    )
    await eventually(_logged(caplog, "certificate is not trusted"), what="the refusal to be logged")
    [poller] = [t for t in asyncio.all_tasks() if t.get_name() == "email-imap-poller"]
    assert not poller.done()  # waiting to try again
    assert await email.stored() == []


async def test_starttls_not_offered_fails_without_sending_the_password(
    plain_dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE_LOG)
    plain_dovecot.append(mail("must not be read", message_id="<c1@x>"))
    mailbox = ImapMailbox(
        plain_dovecot.host,
        plain_dovecot.port,
        plain_dovecot.user,
        plain_dovecot.password,
        security="starttls",
    )
    inbox, state = RecordingInbox(), MemoryState()
    task = asyncio.create_task(ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05).run_forever())
    try:
        lines = await eventually(_logged(caplog, "STARTTLS", n=2), what="two refused attempts")
        assert not task.done()
    finally:
        await _stop(task)
    assert "not logging in without TLS" in lines[0]
    sent = _sent(caplog)
    assert any("STARTTLS" in line for line in sent)
    assert not [line for line in sent if "LOGIN" in line or plain_dovecot.password in line]
    assert inbox.messages == [] and state.values == {}
    # The server's side: each attempt's connection was closed (not left open) with no authentication tried.
    await eventually(
        _in_server_log(plain_dovecot.unauthenticated_disconnects, n=2),
        what="dovecot to log the closed attempts",
    )


def _handlers(inbox: RecordingInbox) -> tuple[Any, Any]:
    """The channel's (deliver, keep aside), for a poller made with test timings."""
    channel = make_channel(inbox)
    return channel.handle_fetched, channel.keep_aside
