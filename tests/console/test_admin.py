"""Administration, availability and snooze in a real browser against a real hub."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from crm_core.accounts import create_agent
from crm_core.models import Role
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.console.conftest import ConsoleHub, Person, eventually, screenshot_path, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 5_000
PASSWORD = "correct horse battery"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(console_hub: ConsoleHub) -> Person:
    async with console_hub.app[DATABASE].writer.begin() as conn:
        boss = await create_agent(
            conn, name="Ada Admin", email="ada@example.com", role=Role.ADMIN, password=PASSWORD, now=utcnow()
        )
    return Person(str(boss.id), boss.name, boss.email)


async def _availability(hub: ConsoleHub, person: Person) -> str:
    agents = (await hub.api("GET", "/agents"))["items"]
    return str(next(a for a in agents if a["id"] == person.id)["availability"])


async def test_an_admin_creates_an_agent_and_a_canned_response(
    page: Any, console_hub: ConsoleHub, admin: Person
) -> None:
    await sign_in(page, console_hub, admin)
    await page.click("#nav-admin")
    await expect(page.locator("#admin-agents")).to_be_visible(timeout=WAIT_MS)

    name = f"Yael {uuid.uuid4().hex[:4]}"
    await page.click("#new-agent")
    await page.fill("#agent-name", name)
    await page.fill("#agent-email", f"{name.split()[1]}@example.com")
    await page.fill("#agent-password", PASSWORD)
    await page.fill("#agent-max-open", "4")
    await page.click("#admin-save")
    row = page.locator("#admin-agents tr", has_text=name)
    await expect(row).to_be_visible(timeout=WAIT_MS)
    await expect(row).to_contain_text("0 / 4")
    await page.screenshot(path=screenshot_path("console-admin.png"))

    await page.click("#admin-tab-canned")
    await page.click("#new-canned")
    await page.fill("#canned-shortcut", "refund")
    await page.fill("#canned-title", "Refund on its way")
    await page.fill("#canned-text", "Hello {{contact.name}}, your refund is on its way.")
    await page.click("#admin-save")
    await expect(page.locator("#admin-canned tr", has_text="refund")).to_be_visible(timeout=WAIT_MS)

    canned = (await console_hub.api("GET", "/canned-responses"))["items"]
    assert [(c["shortcut"], c["text"]) for c in canned] == [
        ("refund", "Hello {{contact.name}}, your refund is on its way.")
    ]
    agents = (await console_hub.api("GET", "/agents"))["items"]
    created = next(a for a in agents if a["name"] == name)
    assert (created["role"], created["max_open"], created["availability"]) == ("agent", 4, "offline")

    await page.click("#nav-inbox")
    await page.wait_for_selector("#inbox")


async def test_an_agent_does_not_see_the_administration(page: Any, console_hub: ConsoleHub) -> None:
    await sign_in(page, console_hub, console_hub.agent)
    await expect(page.locator("#availability")).to_be_visible()
    await expect(page.locator("#nav-admin")).to_have_count(0)
    status = await page.evaluate(
        "fetch('/api/v1/channel-accounts', {credentials: 'same-origin'}).then((r) => r.status)"
    )
    assert status == 403


async def test_the_availability_switch_and_its_shortcut(page: Any, console_hub: ConsoleHub) -> None:
    person = console_hub.agent
    await sign_in(page, console_hub, person)
    await expect(page.locator("#availability")).to_have_value("offline")
    await page.select_option("#availability", "online")
    await eventually(lambda: _is(console_hub, person, "online"))
    await page.locator("body").press("v")
    await expect(page.locator("#availability")).to_have_value("away", timeout=WAIT_MS)
    await eventually(lambda: _is(console_hub, person, "away"))
    # Signing out sets the agent offline.
    await page.click("#sign-out")
    await eventually(lambda: _is(console_hub, person, "offline"))


async def _is(hub: ConsoleHub, person: Person, availability: str) -> bool:
    return await _availability(hub, person) == availability


async def test_snooze_from_the_conversation_view(page: Any, console_hub: ConsoleHub) -> None:
    name = f"Snooze Customer {uuid.uuid4().hex[:6]}"
    await console_hub.inject(f"snooze-{uuid.uuid4().hex}", name, "Call me back tomorrow please")
    conversation = await console_hub.conversation_of(name)
    await sign_in(page, console_hub, console_hub.agent)
    item = page.locator(".inbox-item", has_text=name)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await item.click()
    await expect(page.locator("#act-snooze")).to_be_visible(timeout=WAIT_MS)

    await page.locator("body").press("z")  # the shortcut opens the same choices
    await expect(page.locator("#snooze-dialog")).to_be_visible()
    await page.click("#snooze-tomorrow")
    await expect(page.locator("#conv-status")).to_have_text("Pending", timeout=WAIT_MS)
    await expect(page.locator("#act-snooze")).to_have_count(0)

    stored = await console_hub.api("GET", f"/conversations/{conversation['id']}")
    assert stored["status"] == "pending"
    assert stored.get("snoozed_until") is None or stored["snoozed_until"] > utcnow().isoformat()
