"""The channel's settings as the hub reads them from SWITCHBOARD_WEBCHAT_*."""

from __future__ import annotations

import pytest

from channels.webchat import CHANNEL
from hub.errors import ConfigError
from hub.settings import read_channel_settings

BASE = {"SWITCHBOARD_WEBCHAT_ORIGINS": "https://shop.example", "SWITCHBOARD_WEBCHAT_SECRET": "s" * 16}


def test_not_configured_is_disabled() -> None:
    assert read_channel_settings(CHANNEL, {}) is None


def test_origins_are_a_comma_separated_list_normalised_as_browsers_send_them() -> None:
    settings = read_channel_settings(
        CHANNEL, {**BASE, "SWITCHBOARD_WEBCHAT_ORIGINS": " https://Shop.example/ , http://localhost:3000"}
    )
    assert settings is not None
    assert settings.origins == ("https://shop.example", "http://localhost:3000")
    assert settings.identity_secret is None and settings.account == "default"


def test_limits_are_read() -> None:
    settings = read_channel_settings(
        CHANNEL,
        {
            **BASE,
            "SWITCHBOARD_WEBCHAT_MESSAGES_PER_MINUTE": "5",
            "SWITCHBOARD_WEBCHAT_CONNECTIONS_PER_MINUTE": "7",
            "SWITCHBOARD_WEBCHAT_MAX_MESSAGE_LENGTH": "500",
            "SWITCHBOARD_WEBCHAT_IDENTITY_SECRET": "i" * 16,
        },
    )
    assert settings is not None
    assert (settings.messages_per_minute, settings.connections_per_minute) == (5, 7)
    assert settings.max_message_length == 500 and settings.identity_secret == "i" * 16


def test_origins_without_a_secret_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        read_channel_settings(CHANNEL, {"SWITCHBOARD_WEBCHAT_ORIGINS": "https://shop.example"})
    assert caught.value.setting == "SWITCHBOARD_WEBCHAT_SECRET"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SWITCHBOARD_WEBCHAT_ORIGINS", "shop.example"),
        ("SWITCHBOARD_WEBCHAT_ORIGINS", "https://shop.example/chat"),
        ("SWITCHBOARD_WEBCHAT_ORIGINS", "ftp://shop.example"),
        ("SWITCHBOARD_WEBCHAT_ORIGINS", " , "),
        ("SWITCHBOARD_WEBCHAT_SECRET", "short"),
        ("SWITCHBOARD_WEBCHAT_IDENTITY_SECRET", "short"),
        ("SWITCHBOARD_WEBCHAT_MESSAGES_PER_MINUTE", "0"),
        ("SWITCHBOARD_WEBCHAT_MAX_MESSAGE_LENGTH", "many"),
    ],
)
def test_a_bad_setting_is_named(setting: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_channel_settings(CHANNEL, {**BASE, setting: value})
    assert caught.value.setting == setting
