"""The settings reader: typed values, a TOML file, and errors that name the bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.api import CHANNEL as API_CHANNEL
from channels.api import ApiSettings
from hub.contract import ChannelContext
from hub.errors import ConfigError
from hub.registry import build_channels, discover_channels
from hub.settings import load_settings, read_channel_settings


def test_defaults_are_the_embedded_runtime() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.is_sqlite and settings.redis_url is None
    assert settings.effective_database_url.endswith("/var/switchboard.db")
    assert settings.sqlite_synchronous == "FULL"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SWITCHBOARD_PORT": "eighty"}, "SWITCHBOARD_PORT"),
        ({"SWITCHBOARD_PORT": "70000"}, "SWITCHBOARD_PORT"),
        ({"SWITCHBOARD_LOG_LEVEL": "LOUD"}, "SWITCHBOARD_LOG_LEVEL"),
        ({"SWITCHBOARD_SQLITE_SYNCHRONOUS": "OFF"}, "SWITCHBOARD_SQLITE_SYNCHRONOUS"),
    ],
)
def test_a_bad_setting_fails_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.setting == named
    assert named in str(caught.value)


def test_toml_file_fills_in_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "switchboard.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\n[api]\nsecret = "from-file"\naccount = "crm"\n')
    env = {"SWITCHBOARD_CONFIG": str(config), "SWITCHBOARD_HOST": "127.0.0.2"}
    settings = load_settings(env)
    assert (settings.host, settings.port) == ("127.0.0.2", 9000)
    assert read_channel_settings(API_CHANNEL, env) == ApiSettings(secret="from-file", account="crm")


def test_unreadable_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"SWITCHBOARD_CONFIG": str(tmp_path / "missing.toml")})
    assert caught.value.setting == "SWITCHBOARD_CONFIG"


def test_channel_is_enabled_by_its_required_settings_only() -> None:
    assert read_channel_settings(API_CHANNEL, {}) is None
    assert read_channel_settings(API_CHANNEL, {"SWITCHBOARD_API_CALLBACK_URL": "http://x"}) is None
    enabled = read_channel_settings(API_CHANNEL, {"SWITCHBOARD_API_SECRET": "s"})
    assert enabled == ApiSettings(secret="s")


def test_registry_discovers_channel_folders_and_builds_the_configured_ones() -> None:
    assert "api" in [spec.name for spec in discover_channels()]

    class NoInbox:
        async def ingest(self, messages: object) -> list[object]:
            return []

        async def record_delivery(self, updates: object) -> None:
            return None

    context = ChannelContext(inbox=NoInbox(), public_url=None)  # type: ignore[arg-type]
    off = {found.spec.name: found.enabled for found in build_channels(context, {})}
    on = {
        found.spec.name: found.enabled for found in build_channels(context, {"SWITCHBOARD_API_SECRET": "s"})
    }
    assert off["api"] is False and on["api"] is True
