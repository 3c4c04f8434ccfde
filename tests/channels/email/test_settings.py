"""The email channel's settings: on when the address is set, and a bad setting stops the hub, named."""

from __future__ import annotations

import pytest

from channels.email import CHANNEL
from hub.contract import ChannelContext
from hub.errors import ConfigError
from hub.settings import read_channel_settings
from tests.channels.conftest import RecordingInbox
from tests.channels.email.conftest import MemoryState


def _build(env: dict[str, str]) -> object:
    settings = read_channel_settings(CHANNEL, env)
    if settings is None:
        return None
    return CHANNEL.build(CHANNEL.name, settings, ChannelContext(RecordingInbox(), None, state=MemoryState()))


def test_disabled_without_an_address() -> None:
    assert _build({"SWITCHBOARD_EMAIL_SMTP_HOST": "smtp.example.com"}) is None


def test_defaults_follow_the_security_setting() -> None:
    channel = _build(
        {
            "SWITCHBOARD_EMAIL_ADDRESS": "Support@Example.COM",
            "SWITCHBOARD_EMAIL_IMAP_HOST": "imap.example.com",
            "SWITCHBOARD_EMAIL_IMAP_PASSWORD": "x",
        }
    )
    assert channel is not None
    assert channel.account == "support@example.com" and channel.domain == "example.com"  # type: ignore[attr-defined]
    poller = channel.poller  # type: ignore[attr-defined]
    assert (poller.mailbox.port, poller.mailbox.user, poller.mailbox.security) == (
        993,
        "support@example.com",
        "tls",
    )
    assert poller.mailbox.state_key == "imap:support@example.com@imap.example.com:993/INBOX"
    assert poller.mailbox.backfill_days == 0  # only mail that arrives from now on


def test_backfill_days_reach_the_poller() -> None:
    channel = _build(
        {
            "SWITCHBOARD_EMAIL_ADDRESS": "s@x.com",
            "SWITCHBOARD_EMAIL_IMAP_HOST": "imap.x.com",
            "SWITCHBOARD_EMAIL_IMAP_PASSWORD": "x",
            "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS": "14",
        }
    )
    assert channel.poller.mailbox.backfill_days == 14  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SWITCHBOARD_EMAIL_ADDRESS": "not an address"}, "SWITCHBOARD_EMAIL_ADDRESS"),
        (
            {"SWITCHBOARD_EMAIL_ADDRESS": "s@x.com", "SWITCHBOARD_EMAIL_SMTP_LISTEN": "2525"},
            "SWITCHBOARD_EMAIL_SMTP_LISTEN",
        ),
        (
            {"SWITCHBOARD_EMAIL_ADDRESS": "s@x.com", "SWITCHBOARD_EMAIL_IMAP_HOST": "imap.x.com"},
            "SWITCHBOARD_EMAIL_IMAP_PASSWORD",
        ),
        (
            {"SWITCHBOARD_EMAIL_ADDRESS": "s@x.com", "SWITCHBOARD_EMAIL_SMTP_SECURITY": "ssl3"},
            "SWITCHBOARD_EMAIL_SMTP_SECURITY",
        ),
        (
            {"SWITCHBOARD_EMAIL_ADDRESS": "s@x.com", "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS": "-1"},
            "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS",
        ),
        (
            {"SWITCHBOARD_EMAIL_ADDRESS": "s@x.com", "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS": "a week"},
            "SWITCHBOARD_EMAIL_IMAP_BACKFILL_DAYS",
        ),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _build(env)
    assert caught.value.setting == setting
