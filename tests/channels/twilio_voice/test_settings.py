"""The phone channel's settings: read from SWITCHBOARD_TWILIO_*, and refused at start with the reason."""

from __future__ import annotations

import pytest

from channels.twilio_voice import CHANNEL
from channels.twilio_voice.parse import parse_menu
from hub.errors import ConfigError
from hub.settings import read_channel_settings
from tests.channels.conftest import RecordingInbox
from tests.channels.twilio_voice.conftest import make_channel

BASE = {"SWITCHBOARD_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "SWITCHBOARD_TWILIO_AUTH_TOKEN": "token"}


def test_voice_settings_are_read_with_their_types() -> None:
    env = {
        **BASE,
        "SWITCHBOARD_TWILIO_FROM": "+14155550100",
        "SWITCHBOARD_TWILIO_VOICE_LANGUAGE": "he-IL",
        "SWITCHBOARD_TWILIO_VOICE_QUEUE": "tier1",
        "SWITCHBOARD_TWILIO_VOICE_VOICEMAIL_AFTER_S": "45",
        "SWITCHBOARD_TWILIO_VOICE_RECORD": "true",
        "SWITCHBOARD_TWILIO_VOICE_BOT": "false",
        "SWITCHBOARD_TWILIO_VOICE_MENU": "1=חיובים|2=תמיכה טכנית",
    }
    settings = read_channel_settings(CHANNEL, env)
    assert settings is not None
    assert (settings.from_, settings.voice_language, settings.voice_queue) == (
        "+14155550100",
        "he-IL",
        "tier1",
    )
    assert (settings.voice_voicemail_after_s, settings.voice_record, settings.voice_bot) == (45, True, False)
    assert make_channel(RecordingInbox(), voice_menu=settings.voice_menu).menu == {
        "1": "חיובים",
        "2": "תמיכה טכנית",
    }


def test_not_configured_without_credentials() -> None:
    assert read_channel_settings(CHANNEL, {"SWITCHBOARD_TWILIO_VOICE_LANGUAGE": "he"}) is None


@pytest.mark.parametrize("value", ["5", "99999", "soon"])
def test_voicemail_time_out_of_range_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_channel_settings(CHANNEL, {**BASE, "SWITCHBOARD_TWILIO_VOICE_VOICEMAIL_AFTER_S": value})
    assert caught.value.setting == "SWITCHBOARD_TWILIO_VOICE_VOICEMAIL_AFTER_S"


def test_a_language_without_prompts_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        make_channel(RecordingInbox(), voice_language="fr-FR")
    assert caught.value.setting == "SWITCHBOARD_TWILIO_VOICE_LANGUAGE"


@pytest.mark.parametrize("menu", ["1:Billing", "1=Billing|1=Sales", "12=Billing", "1="])
def test_a_malformed_menu_is_refused(menu: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_channel(RecordingInbox(), voice_menu=menu)
    assert caught.value.setting == "SWITCHBOARD_TWILIO_VOICE_MENU"


def test_menu_items_keep_their_order_and_ignore_blanks() -> None:
    assert parse_menu(" 2 = Sales | | 0=Anything else ") == {"2": "Sales", "0": "Anything else"}
    assert parse_menu(None) == {}
