"""What channel tests share: an Inbox that records, and a real hub on a fresh SQLite store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crm_core.accounts import create_token
from crm_core.models import Role
from hub.app import create_app
from hub.keys import DATABASE
from hub.messages import (
    DeliveryUpdate,
    ExternalIdentity,
    HistoryItem,
    InboundMessage,
    IngestResult,
    KeptAside,
    utcnow,
)
from hub.settings import load_settings


@dataclass
class RecordingInbox:
    """An Inbox that keeps what channels hand it, for adapter tests that need no database."""

    messages: list[InboundMessage] = field(default_factory=list)
    updates: list[DeliveryUpdate] = field(default_factory=list)
    kept: list[KeptAside] = field(default_factory=list)
    histories: dict[ExternalIdentity, list[HistoryItem]] = field(default_factory=dict)

    async def ingest(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        results = []
        for message in messages:
            seen = any(
                m.identity == message.identity and m.external_message_id == message.external_message_id
                for m in self.messages
            )
            if not seen:
                self.messages.append(message)
            results.append(IngestResult(uuid.uuid4().hex, "conversation", "contact", duplicate=seen))
        return results

    async def record_delivery(self, updates: Sequence[DeliveryUpdate]) -> None:
        self.updates.extend(updates)

    async def keep_aside(self, items: Sequence[KeptAside]) -> None:
        self.kept.extend(items)

    async def history(self, identity: ExternalIdentity, *, limit: int = 50) -> list[HistoryItem]:
        return self.histories.get(identity, [])[-limit:]


@pytest.fixture
def recording_inbox() -> RecordingInbox:
    return RecordingInbox()


@dataclass
class ChannelHub:
    """A started hub (SQLite, in-process bus) with an admin token, for end-to-end channel tests."""

    client: TestClient[Any, Any]
    token: str

    @property
    def app(self) -> Any:
        return self.client.app

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get_json(self, path: str) -> Any:
        response = await self.client.get(path, headers=self.auth)
        assert response.status == 200, await response.text()
        return await response.json()


MakeHub = Callable[[Mapping[str, str]], Awaitable[ChannelHub]]


@pytest.fixture
def make_hub(tmp_path: Path, sqlite_url: str, aiohttp_client: Any) -> MakeHub:
    """``await make_hub({"SWITCHBOARD_TWILIO_AUTH_TOKEN": ...})``: a fresh store, the given channels on."""

    async def make(env: Mapping[str, str]) -> ChannelHub:
        settings_env = {
            "SWITCHBOARD_DATA_DIR": str(tmp_path),
            "SWITCHBOARD_DATABASE_URL": sqlite_url,
            "SWITCHBOARD_AUTO_MIGRATE": "false",
            "SWITCHBOARD_MODELS": "false",
            **env,
        }
        app = create_app(load_settings(settings_env), settings_env)
        client = await aiohttp_client(app)
        async with app[DATABASE].writer.begin() as conn:
            token, _ = await create_token(
                conn, name=f"test-{uuid.uuid4().hex[:6]}", role=Role.ADMIN, now=utcnow()
            )
        return ChannelHub(client=client, token=token)

    return make
