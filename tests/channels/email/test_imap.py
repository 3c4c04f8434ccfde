"""IMAP inbound against a real dovecot: IDLE, a UID checkpoint that survives restarts, retries, where a
mailbox without a checkpoint starts, INTERNALDATE, too-large mail, and mail that never stores."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest

from channels.email.imap import ImapMailbox, ImapPoller, parse_checkpoint
from hub.messages import utcnow
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import MemoryState, StartHub, make_channel
from tests.channels.email.dovecot import Dovecot, running_dovecot
from tests.channels.email.mails import mail
from tests.waiting import eventually

pytestmark = pytest.mark.slow

# Long enough that only an IDLE push can bring mail in within a test's wait.
NO_POLLING = {"imap_poll_s": 3600.0}
POLLER_LOG = "channels.email.imap"
WIRE_LOG = "aioimaplib.aioimaplib"  # logs every command it sends at DEBUG


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
        # The tests' mail is appended before the poller first connects: read the last day's.
        "imap_backfill_days": 1,
        **extra,
    }


def _mailbox(server: Dovecot, backfill_days: int = 1) -> ImapMailbox:
    return ImapMailbox(
        server.host, server.port, server.user, server.password, security="none", backfill_days=backfill_days
    )


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
    mailbox = _mailbox(dovecot)
    poller = ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05)
    dovecot.append(mail("retry me", message_id="<f1@x>"))
    task = asyncio.create_task(poller.run_forever())
    try:
        await eventually(_count(inbox, 1), what="the retried message")
        assert _ids(inbox) == ["f1@x"] and inbox.failures == 0
        assert (await state.get(mailbox.state_key) or "").endswith(":1")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _handlers(inbox: RecordingInbox) -> tuple[Any, Any]:
    """The channel's (deliver, keep aside), for a poller made with test timings."""
    channel = make_channel(inbox)
    return channel.handle_fetched, channel.keep_aside


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


def _poller_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == POLLER_LOG]


async def test_without_a_checkpoint_and_no_backfill_only_new_mail_is_read(
    dovecot: Dovecot, started: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=POLLER_LOG)
    dovecot.append(mail("years of history", message_id="<old1@x>"))
    dovecot.append(mail("more history", message_id="<old2@x>"))
    inbox, state = RecordingInbox(), MemoryState()
    channel = make_channel(inbox, state, **_settings(dovecot, imap_backfill_days=0, **NO_POLLING))
    await channel.start()
    started.append(channel)

    async def checkpointed() -> str | None:
        return await state.get(channel.poller.mailbox.state_key) if channel.poller else None

    # The checkpoint starts at UIDNEXT - 1, before anything is read.
    assert (await eventually(checkpointed, what="the starting checkpoint")).endswith(":2")
    await asyncio.sleep(0.3)  # let the poller enter IDLE
    dovecot.append(mail("new", message_id="<new@x>"))
    await eventually(_count(inbox, 1), what="the new mail")
    assert _ids(inbox) == ["new@x"] and inbox.kept == []
    [started_line] = [line for line in _poller_lines(caplog) if "no checkpoint" in line]
    assert "only mail that arrives from now on (after UID 2)" in started_line
    assert "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS" in started_line


async def test_without_a_checkpoint_the_backfill_days_are_read_dated_by_internaldate(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=POLLER_LOG)
    now = utcnow().replace(microsecond=0)
    three_days_ago = now - timedelta(days=3)
    dovecot.append(mail("ten days old", message_id="<b1@x>"), internal_date=now - timedelta(days=10))
    dovecot.append(mail("three days old", message_id="<b2@x>"), internal_date=three_days_ago)
    # Old mail moved into the mailbox later: a higher UID, but its INTERNALDATE is still old.
    dovecot.append(mail("moved in, old", message_id="<b3@x>"), internal_date=now - timedelta(days=30))
    dovecot.append(mail("today", message_id="<b4@x>"))
    inbox, state = RecordingInbox(), MemoryState()
    mailbox = _mailbox(dovecot, backfill_days=5)
    task = asyncio.create_task(ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05).run_forever())
    try:
        await eventually(_count(inbox, 2), what="the mail of the last five days")

        async def done() -> bool:
            return (await state.get(mailbox.state_key) or "").endswith(":4")

        await eventually(done, what="the checkpoint past the last message")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert _ids(inbox) == ["b2@x", "b4@x"]
    # Dated by when the server received it, not when we read it (nor by the Date header, of 2024).
    assert inbox.messages[0].received_at == three_days_ago.astimezone(UTC)
    assert now - timedelta(minutes=5) < inbox.messages[1].received_at <= utcnow()
    [started_line] = [line for line in _poller_lines(caplog) if "no checkpoint" in line]
    assert "the 2 messages of the last 5 days (from UID 2)" in started_line


async def test_a_message_over_the_size_limit_is_kept_aside_without_downloading_it(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=WIRE_LOG)
    big = mail("x" * 5000 + "THE BODY", message_id="<big@x>")
    dovecot.append(mail("small before", message_id="<s1@x>"))
    dovecot.append(big)
    dovecot.append(mail("small after", message_id="<s2@x>"))
    inbox, state = RecordingInbox(), MemoryState()
    mailbox = _mailbox(dovecot)
    poller = ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05, max_bytes=4000)
    task = asyncio.create_task(poller.run_forever())
    try:
        await eventually(_count(inbox, 3), what="all three handled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert _ids(inbox) == ["s1@x", "s2@x"]
    [kept] = inbox.kept
    assert (kept.reason, kept.provider_id) == (f"too large: {len(big)} bytes", "big@x")
    assert kept.body == big[: big.index(b"\r\n\r\n") + 4]  # its header only
    assert (await state.get(mailbox.state_key) or "").endswith(":3")
    sent = [r.getMessage() for r in caplog.records if r.name == WIRE_LOG and "Sending" in r.getMessage()]
    fetched = [line for line in sent if "FETCH 2 " in line]
    assert fetched and all("BODY.PEEK[HEADER]<0." in line for line in fetched)


class BrokenInbox(RecordingInbox):
    """Never stores one message (as a row the database refuses); counts the attempts."""

    attempts: int = 0

    async def ingest(self, messages: Any) -> Any:
        if any(m.external_message_id == "poison@x" for m in messages):
            self.attempts += 1
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return await super().ingest(messages)


async def test_a_message_that_never_stores_is_kept_aside_after_three_failures(dovecot: Dovecot) -> None:
    inbox, state = BrokenInbox(), MemoryState()
    dovecot.append(mail("cannot be stored", message_id="<poison@x>"))
    dovecot.append(mail("behind it", message_id="<behind@x>"))
    mailbox = _mailbox(dovecot)
    task = asyncio.create_task(ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05).run_forever())
    try:
        await eventually(_count(inbox, 2), what="the poison message kept aside and the next stored")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert inbox.attempts == 3
    [kept] = inbox.kept
    assert kept.provider_id == "poison@x"
    assert kept.reason == (
        "could not be stored (3 attempts): ValueError: A string literal cannot contain NUL (0x00) characters."
    )
    assert kept.body.startswith(b"From: ")
    assert _ids(inbox) == ["behind@x"]
    assert (await state.get(mailbox.state_key) or "").endswith(":2")


class AwayInbox(RecordingInbox):
    """A database that is away for a while: every call to store or keep aside fails, then all work."""

    calls_failing: int = 8

    def _away(self) -> bool:
        if self.calls_failing:
            self.calls_failing -= 1
            return True
        return False

    async def ingest(self, messages: Any) -> Any:
        if self._away():
            raise ConnectionError("database unavailable")
        return await super().ingest(messages)

    async def keep_aside(self, items: Any) -> None:
        if self._away():
            raise ConnectionError("database unavailable")
        await super().keep_aside(items)


async def test_a_database_away_longer_than_three_attempts_keeps_nothing_aside(dovecot: Dovecot) -> None:
    inbox, state = AwayInbox(), MemoryState()
    dovecot.append(mail("wait for the database", message_id="<away@x>"))
    mailbox = _mailbox(dovecot)
    task = asyncio.create_task(ImapPoller(mailbox, state, *_handlers(inbox), retry_s=0.05).run_forever())
    try:
        await eventually(_count(inbox, 1), what="the message stored once the database is back")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert inbox.calls_failing == 0 and inbox.kept == []  # 5 failed stores, 3 failed keep-asides
    assert _ids(inbox) == ["away@x"]
