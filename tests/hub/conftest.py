"""A running hub app on the embedded default (SQLite + in-process bus) and scaled out (PostgreSQL + Redis)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.api.parse import sign
from crm_core.accounts import create_token
from crm_core.models import Role
from hub.app import create_app
from hub.keys import DATABASE
from hub.messages import utcnow
from hub.settings import load_settings
from tests.servers import REDIS_URL, require_postgres, require_redis

API_SECRET = "test-api-secret"


@dataclass
class Hub:
    """A started hub app and what a test needs to talk to it."""

    client: TestClient[Any, Any]
    token: str

    @property
    def app(self) -> Any:
        return self.client.app

    async def send(self, body: dict[str, Any] | bytes, *, signature: str | None = "auto") -> Any:
        """POST a message to the API channel, signed unless told otherwise."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "auto":
            headers["X-Switchboard-Signature"] = sign(API_SECRET, raw)
        elif signature is not None:
            headers["X-Switchboard-Signature"] = signature
        return await self.client.post("/webhooks/api", data=raw, headers=headers)

    async def get(self, path: str) -> Any:
        """GET a REST resource with the test's admin token."""
        response = await self.client.get(path, headers={"Authorization": f"Bearer {self.token}"})
        return response


@pytest.fixture(params=["embedded", "scaled"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Settings of the two runtimes: SQLite + in-process bus, and PostgreSQL + Redis."""
    # Models are off here: the tests that load them say so (tests/hub/test_enrichment.py).
    env = {
        "SWITCHBOARD_DATA_DIR": str(tmp_path),
        "SWITCHBOARD_API_SECRET": API_SECRET,
        "SWITCHBOARD_MODELS": "false",
    }
    if request.param == "embedded":
        env["SWITCHBOARD_DATABASE_URL"] = request.getfixturevalue("sqlite_url")
    else:
        require_postgres()
        require_redis()
        env["SWITCHBOARD_DATABASE_URL"] = request.getfixturevalue("postgres_url")
        env["SWITCHBOARD_REDIS_URL"] = REDIS_URL
    env["SWITCHBOARD_AUTO_MIGRATE"] = "false"
    return env


@pytest.fixture
async def hub(runtime: dict[str, str], aiohttp_client: Any) -> Hub:
    """A started hub with the API channel enabled and an admin token."""
    return await start_test_hub(runtime, aiohttp_client)


async def start_test_hub(env: dict[str, str], aiohttp_client: Any) -> Hub:
    """Start a hub app with these settings and make an admin token for it."""
    app = create_app(load_settings(env), env)
    client = await aiohttp_client(app)
    async with app[DATABASE].writer.begin() as conn:
        token, _ = await create_token(
            conn, name=f"test-{uuid.uuid4().hex[:6]}", role=Role.ADMIN, now=utcnow()
        )
    return Hub(client=client, token=token)
