"""IMAP inbound against a real dovecot: IDLE, a UID checkpoint that survives restarts, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from channels.email.imap import ImapMailbox, ImapPoller, parse_checkpoint
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import MemoryState, StartHub, make_channel
from tests.channels.email.dovecot import Dovecot, running_dovecot
from tests.channels.email.mails import mail
from tests.waiting import eventually

pytestmark = pytest.mark.slow

# Long enough that only an IDLE push can bring mail in within a test's wait.
NO_POLLING = {"imap_poll_s": 3600.0}


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def _settings(server: Dovecot, **extra: Any) -> dict[str, Any]:
    return {
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_user": server.user,
        "imap_password": server.password,
        "imap_security": "none",
        **extra,
    }


def _ids(inbox: RecordingInbox) -> list[str]:
    return [m.external_message_id for m in inbox.messages]


def _count(inbox: RecordingInbox, n: int) -> Any:
    async def check() -> bool:
        return len(inbox.messages) + len(inbox.kept) >= n

    return check


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    channels: list[Any] = []
    yield channels
    for channel in channels:
        await channel.close()


async def test_new_mail_arrives_through_idle_and_is_checkpointed(
    dovecot: Dovecot, started: list[Any]
) -> None:
    inbox, state = RecordingInbox(), MemoryState()
    channel = make_channel(inbox, state, **_settings(dovecot, **NO_POLLING))
    dovecot.append(mail("before start", message_id="<i1@x>"))
    await channel.start()
    started.append(channel)
    await eventually(_count(inbox, 1), what="the mail already there")
    await asyncio.sleep(0.3)  # let the poller enter IDLE
    dovecot.append(mail("while idle", message_id="<i2@x>"))
    await eventually(_count(inbox, 2), what="the IDLE push to bring the new mail")
    assert _ids(inbox) == ["i1@x", "i2@x"]
    assert inbox.messages[1].text == "while idle"
    [value] = state.values.values()
    assert parse_checkpoint(value) is not None and value.endswith(":2")


async def test_restart_neither_loses_nor_repeats(dovecot: Dovecot) -> None:
    state = MemoryState()
    first = RecordingInbox()
    channel = make_channel(first, state, **_settings(dovecot, **NO_POLLING))
    dovecot.append(mail("one", message_id="<r1@x>"))
    dovecot.append(mail("two", message_id="<r2@x>"))
    await channel.start()
    await eventually(_count(first, 2), what="the first two")
    await channel.close()

    dovecot.append(mail("three, while we were down", message_id="<r3@x>"))
    dovecot.append(mail("four, while we were down", message_id="<r4@x>"))
    second = RecordingInbox()
    restarted = make_channel(second, state, **_settings(dovecot, **NO_POLLING))
    await restarted.start()
    try:
        await eventually(_count(second, 2), what="the mail that came while we were down")
        await asyncio.sleep(0.3)
        assert _ids(first) == ["r1@x", "r2@x"]
        assert _ids(second) == ["r3@x", "r4@x"]
    finally:
        await restarted.close()


async def test_unparseable_mail_is_kept_aside_and_passed(dovecot: Dovecot, started: list[Any]) -> None:
    inbox, state = RecordingInbox(), MemoryState()
    dovecot.append(mail("who sent this?", sender="nobody", message_id="<u1@x>"))
    dovecot.append(mail("a real one", message_id="<u2@x>"))
    channel = make_channel(inbox, state, **_settings(dovecot, **NO_POLLING))
    await channel.start()
    started.append(channel)
    await eventually(_count(inbox, 2), what="both messages handled")
    assert [(k.reason, k.provider_id) for k in inbox.kept] == [("no sender address", "u1@x")]
    assert _ids(inbox) == ["u2@x"]
    assert next(iter(state.values.values())).endswith(":2")


class FlakyInbox(RecordingInbox):
    """Fails to store the first time, as a database that is briefly away."""

    failures: int = 1

    async def ingest(self, messages: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unavailable")
        return await super().ingest(messages)


async def test_a_failed_store_leaves_the_checkpoint_and_is_retried(dovecot: Dovecot) -> None:
    inbox, state = FlakyInbox(), MemoryState()
    mailbox = ImapMailbox(dovecot.host, dovecot.port, dovecot.user, dovecot.password, security="none")
    poller = ImapPoller(mailbox, state, _handler(inbox), retry_s=0.05)
    dovecot.append(mail("retry me", message_id="<f1@x>"))
    task = asyncio.create_task(poller.run_forever())
    try:
        await eventually(_count(inbox, 1), what="the retried message")
        assert _ids(inbox) == ["f1@x"] and inbox.failures == 0
        assert (await state.get(mailbox.state_key) or "").endswith(":1")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _handler(inbox: RecordingInbox) -> Any:
    channel = make_channel(inbox)

    async def deliver(raw: bytes, uid: int) -> None:
        await channel.handle_raw(raw, uid=uid)

    return deliver


async def test_a_server_without_idle_is_polled(started: list[Any]) -> None:
    with running_dovecot(idle=False) as server:
        inbox = RecordingInbox()
        channel = make_channel(inbox, MemoryState(), **_settings(server, imap_poll_s=0.2))
        await channel.start()
        started.append(channel)
        server.append(mail("polled", message_id="<p1@x>"))
        await eventually(_count(inbox, 1), what="the poll to find the mail")
        assert _ids(inbox) == ["p1@x"]
        await channel.close()
        started.clear()


async def test_a_new_uidvalidity_reads_the_mailbox_again(dovecot: Dovecot) -> None:
    state = MemoryState()
    dovecot.append(mail("old", message_id="<v1@x>"))
    first = RecordingInbox()
    channel = make_channel(first, state, **_settings(dovecot, **NO_POLLING))
    await channel.start()
    await eventually(_count(first, 1), what="the first mail")
    await channel.close()
    dovecot.recreate_inbox()
    dovecot.append(mail("in the new mailbox", message_id="<v2@x>"))
    second = RecordingInbox()
    again = make_channel(second, state, **_settings(dovecot, **NO_POLLING))
    await again.start()
    try:
        await eventually(_count(second, 1), what="the new mailbox's mail")
        assert _ids(second) == ["v2@x"]
    finally:
        await again.close()


async def test_through_the_hub_the_checkpoint_is_kept_in_its_state(
    dovecot: Dovecot, start_hub: StartHub
) -> None:
    dovecot.append(mail("stored by the hub", message_id="<h1@x>"))
    env = {k: str(v) for k, v in _settings(dovecot, **NO_POLLING).items()}
    email = await start_hub(**env)

    async def stored() -> bool:
        return len(await email.stored()) == 1

    await eventually(stored, what="the polled mail to be stored")
    assert email.channel.poller is not None and email.channel.context.state is not None
    value = await email.channel.context.state.get(email.channel.poller.mailbox.state_key)
    assert value is not None and value.endswith(":1")
