"""Browser tests of the agent console: a real hub on SQLite, a fake API-channel callback, headless Chromium.

One hub, one callback server and one browser per module (starting them is the slow part); every test signs
in in a fresh browser context and works on a conversation of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import insert

from channels.api.parse import sign
from crm_core.accounts import create_agent, create_token
from crm_core.models import Agreement, Role, SlaTier
from hub.app import create_app
from hub.keys import DATABASE
from hub.messages import utcnow
from hub.settings import load_settings

# CI must run the browser tests: there a missing Playwright or Chromium fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() == "true"
if IN_CI:
    import playwright.async_api as playwright_api
else:
    playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("SWITCHBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
SECRET = "console-test-secret"
PASSWORD = "correct horse battery"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class CallbackRecorder:
    """The customer's system behind the API channel: keeps every reply the hub POSTs."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        return web.json_response({"ok": True})

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/callback"))


@dataclass
class Person:
    id: str
    name: str
    email: str


@dataclass
class ConsoleHub:
    """A started hub with an agent, a supervisor and an admin token for checking what the console did."""

    server: TestServer
    token: str
    agent: Person
    supervisor: Person

    @property
    def app(self) -> web.Application:
        return self.server.app

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/"))

    async def api(self, method: str, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.server.make_url(f"/api/v1{path}"), headers=headers) as response,
        ):
            assert response.status < 300, await response.text()
            return await response.json()

    async def inject(self, sender_id: str, name: str, text: str) -> None:
        """A customer writes in through the API channel's signed webhook."""
        body = json.dumps(
            {"message_id": uuid.uuid4().hex, "sender": {"id": sender_id, "name": name}, "text": text}
        ).encode()
        headers = {"X-Switchboard-Signature": sign(SECRET, body), "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.server.make_url("/webhooks/api"), data=body, headers=headers) as response,
        ):
            assert response.status < 300, await response.text()

    async def conversation_of(self, name: str) -> dict[str, Any]:
        """The newest conversation with the contact ``name``, waiting for ingestion."""
        found = await eventually(lambda: self._find(name))
        assert isinstance(found, dict)
        return found

    async def _find(self, name: str) -> dict[str, Any] | None:
        page = await self.api("GET", "/conversations?channel=api&limit=100")
        return next((c for c in page["items"] if c["contact_name"] == name), None)


async def eventually(probe: Callable[[], Any], *, timeout: float = 5.0) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def callback() -> AsyncIterator[CallbackRecorder]:
    recorder = CallbackRecorder()
    app = web.Application()
    app.router.add_post("/callback", recorder.handle)
    recorder.server = TestServer(app, host="127.0.0.1")
    await recorder.server.start_server()
    yield recorder
    await recorder.server.close()


async def start_hub_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, name: str, env: dict[str, str]
) -> TestServer:
    """A started hub on a copy of the migrated template database (models off, the API channel on), with
    ``env`` on top; the caller closes it."""
    data_dir = tmp_path_factory.mktemp(name)
    shutil.copy(sqlite_template, data_dir / "switchboard.db")
    full = {
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}",
        "SWITCHBOARD_AUTO_MIGRATE": "false",
        "SWITCHBOARD_MODELS": "false",
        "SWITCHBOARD_API_SECRET": SECRET,
        **env,
    }
    server = TestServer(create_app(load_settings(full), full), host="127.0.0.1")
    await server.start_server()
    return server


async def add_people(app: web.Application) -> tuple[str, Person, Person]:
    """An admin token, the agent Dana and the supervisor Sam (who sign in with PASSWORD)."""
    now = utcnow()
    async with app[DATABASE].writer.begin() as conn:
        token, _ = await create_token(conn, name="console-test", role=Role.ADMIN, now=now)
        people = [
            await create_agent(conn, name=name, email=email, role=role, password=PASSWORD, now=now)
            for name, email, role in (
                ("Dana Agent", "dana@example.com", Role.AGENT),
                ("Sam Supervisor", "sam@example.com", Role.SUPERVISOR),
            )
        ]
    agent, boss = (Person(str(p.id), p.name, p.email) for p in people)
    return token, agent, boss


async def add_agreement(
    app: web.Application,
    contact_id: str,
    *,
    product: str,
    ends_in_days: int,
    payment_status: str = "current",
    entitlements: tuple[str, ...] = (),
) -> str:
    """An agreement of the contact on a new SLA tier; its tier's name."""
    tier = f"gold-{uuid.uuid4().hex[:6]}"
    async with app[DATABASE].writer.begin() as conn:
        await conn.execute(
            insert(SlaTier).values(name=tier, first_response_seconds=3600, resolution_seconds=86400)
        )
        await conn.execute(
            insert(Agreement).values(
                id=uuid.uuid4(),
                contact_id=uuid.UUID(contact_id),
                product=product,
                sla_tier=tier,
                entitlements=list(entitlements),
                payment_plan="monthly",
                payment_status=payment_status,
                starts_on=date.today() - timedelta(days=300),
                ends_on=date.today() + timedelta(days=ends_in_days),
                created_at=utcnow(),
            )
        )
    return tier


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def console_hub(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, callback: CallbackRecorder
) -> AsyncIterator[ConsoleHub]:
    server = await start_hub_server(
        tmp_path_factory, sqlite_template, "console-hub", {"SWITCHBOARD_API_CALLBACK_URL": callback.url}
    )
    yield ConsoleHub(server, *await add_people(server.app))
    await server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (scripts/services.sh installs it: apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US")
    opened = await context.new_page()
    yield opened
    await context.close()


async def sign_in(page: Any, hub: ConsoleHub, person: Person) -> None:
    await page.goto(hub.base_url)
    await page.fill("#email", person.email)
    await page.fill("#password", PASSWORD)
    await page.click("#signin button[type=submit]")
    await page.wait_for_selector("#inbox")


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / name)
