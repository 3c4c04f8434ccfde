"""When a message was received: IMAP's INTERNALDATE read, and never a time in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from channels.email.imap import parse_internaldate
from hub.messages import utcnow
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import make_channel
from tests.channels.email.mails import mail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05-Mar-2024 12:34:56 +0000", datetime(2024, 3, 5, 12, 34, 56, tzinfo=UTC)),
        (" 5-Mar-2024 02:04:05 -0700", datetime(2024, 3, 5, 2, 4, 5, tzinfo=timezone(timedelta(hours=-7)))),
        (
            b"17-Jul-1996 02:44:25 +0530",
            datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=5.5))),
        ),
    ],
)
def test_internaldate_is_read_with_its_offset(text: str | bytes, expected: datetime) -> None:
    parsed = parse_internaldate(text)
    assert parsed == expected and parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["", "yesterday", "05-Foo-2024 12:34:56 +0000", "05-Mar-2024 12:34:56"])
def test_an_unreadable_internaldate_is_none(text: str) -> None:
    assert parse_internaldate(text) is None


async def test_a_server_date_is_kept_but_never_one_in_the_future() -> None:
    inbox = RecordingInbox()
    channel = make_channel(inbox)
    past = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    await channel.handle_raw(mail("dated", message_id="<d1@x>"), received_at=past)
    before = utcnow()
    await channel.handle_raw(
        mail("clock ahead", message_id="<d2@x>"), received_at=before + timedelta(hours=3)
    )
    after = utcnow()
    assert inbox.messages[0].received_at == past
    assert before <= inbox.messages[1].received_at <= after
