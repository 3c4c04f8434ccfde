"""Fixtures of the Telegram channel's tests: the fake Bot API, its settings, the channel's own payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.telegram.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = DEFAULT_TOKEN
BOT_ID = TOKEN.split(":", 1)[0]
SECRET = "webhook-Secret_42"


def fixture_bytes(name: str) -> bytes:
    """The raw bytes of ``fixtures/<name>``."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    """``fixtures/<name>`` parsed."""
    return json.loads(fixture_bytes(name))


def hub_env(fake: FakeBotApi, **extra: str) -> dict[str, str]:
    """The env that enables the channel (webhook mode) against ``fake``."""
    return {
        "SWITCHBOARD_TELEGRAM_BOT_TOKEN": fake.token,
        "SWITCHBOARD_TELEGRAM_SECRET_TOKEN": SECRET,
        "SWITCHBOARD_TELEGRAM_API_BASE": fake.api_base,
        **extra,
    }


@pytest.fixture
async def fake_bot_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as fake:
        yield fake
