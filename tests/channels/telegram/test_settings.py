"""``SWITCHBOARD_TELEGRAM_*``: what enables the channel and what makes the hub refuse to start."""

from __future__ import annotations

import pytest

from channels.telegram import CHANNEL, TelegramChannel, TelegramSettings
from hub.contract import ChannelContext
from hub.errors import ConfigError
from hub.settings import read_channel_settings
from tests.channels.conftest import RecordingInbox

TOKEN = "123456789:AAE-abcdefghijklmnopqrstuvwxyz012345"


def _build(env: dict[str, str]) -> TelegramChannel:
    settings = read_channel_settings(CHANNEL, env)
    assert settings is not None
    channel = CHANNEL.build(CHANNEL.name, settings, ChannelContext(inbox=RecordingInbox(), public_url=None))
    assert isinstance(channel, TelegramChannel)
    return channel


def test_without_a_token_the_channel_is_off() -> None:
    assert read_channel_settings(CHANNEL, {"SWITCHBOARD_TELEGRAM_SECRET_TOKEN": "s"}) is None


def test_defaults_and_account_from_the_token() -> None:
    channel = _build({"SWITCHBOARD_TELEGRAM_BOT_TOKEN": TOKEN, "SWITCHBOARD_TELEGRAM_SECRET_TOKEN": "s-1"})
    assert channel.settings == TelegramSettings(bot_token=TOKEN, secret_token="s-1")
    assert channel.settings.api_base == "https://api.telegram.org"
    assert channel.settings.mode == "webhook"
    assert channel.account == "123456789"


def test_every_setting_is_read_from_env() -> None:
    channel = _build(
        {
            "SWITCHBOARD_TELEGRAM_BOT_TOKEN": TOKEN,
            "SWITCHBOARD_TELEGRAM_API_BASE": "http://127.0.0.1:9999",
            "SWITCHBOARD_TELEGRAM_MODE": "polling",
            "SWITCHBOARD_TELEGRAM_ACCOUNT": "support-bot",
            "SWITCHBOARD_TELEGRAM_POLL_TIMEOUT": "10",
            "SWITCHBOARD_TELEGRAM_POLL_RETRY_DELAY": "1.5",
        }
    )
    assert channel.settings == TelegramSettings(
        bot_token=TOKEN,
        api_base="http://127.0.0.1:9999",
        mode="polling",
        account="support-bot",
        poll_timeout=10,
        poll_retry_delay=1.5,
    )
    assert channel.account == "support-bot"


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({}, "SWITCHBOARD_TELEGRAM_SECRET_TOKEN"),
        ({"SWITCHBOARD_TELEGRAM_MODE": "webhook"}, "SWITCHBOARD_TELEGRAM_SECRET_TOKEN"),
        ({"SWITCHBOARD_TELEGRAM_SECRET_TOKEN": "has space"}, "SWITCHBOARD_TELEGRAM_SECRET_TOKEN"),
        (
            {"SWITCHBOARD_TELEGRAM_BOT_TOKEN": "not-a-token", "SWITCHBOARD_TELEGRAM_SECRET_TOKEN": "s"},
            "SWITCHBOARD_TELEGRAM_BOT_TOKEN",
        ),
        (
            {"SWITCHBOARD_TELEGRAM_MODE": "push", "SWITCHBOARD_TELEGRAM_SECRET_TOKEN": "s"},
            "SWITCHBOARD_TELEGRAM_MODE",
        ),
        (
            {"SWITCHBOARD_TELEGRAM_MODE": "polling", "SWITCHBOARD_TELEGRAM_POLL_TIMEOUT": "90"},
            "SWITCHBOARD_TELEGRAM_POLL_TIMEOUT",
        ),
    ],
)
def test_bad_settings_name_themselves(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _build({"SWITCHBOARD_TELEGRAM_BOT_TOKEN": TOKEN, **env})
    assert caught.value.setting == setting


def test_polling_needs_no_secret() -> None:
    channel = _build({"SWITCHBOARD_TELEGRAM_BOT_TOKEN": TOKEN, "SWITCHBOARD_TELEGRAM_MODE": "polling"})
    assert channel.settings.secret_token is None
    assert channel.webhook_routes() == []
