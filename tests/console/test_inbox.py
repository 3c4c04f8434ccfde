"""The inbox in a real browser: filters (with live updates that respect them), unread state and counts,
paging with "load more"."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import insert, update

from crm_core.db import new_id
from crm_core.models import Conversation, ConversationTag, Tag, Team
from hub.keys import DATABASE
from tests.console.conftest import ConsoleHub, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 5_000
UNREAD = re.compile(r"\bunread\b")


def new_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def customer(hub: ConsoleHub, prefix: str) -> tuple[str, str, str]:
    """A customer who wrote in: (name, sender id, conversation id)."""
    name, sender = new_name(prefix), f"inbox-{uuid.uuid4().hex}"
    await hub.inject(sender, name, f"Hello from {name}")
    return name, sender, (await hub.conversation_of(name))["id"]


async def tag(hub: ConsoleHub, name: str, conversation_ids: list[str]) -> None:
    async with hub.app[DATABASE].writer.begin() as conn:
        tag_id = new_id()
        await conn.execute(insert(Tag).values(id=tag_id, name=name))
        await conn.execute(
            insert(ConversationTag),
            [{"conversation_id": uuid.UUID(c), "tag_id": tag_id} for c in conversation_ids],
        )


async def assign(hub: ConsoleHub, conversation_id: str, **ids: uuid.UUID) -> None:
    """Set the conversation's ``assignee_id`` and/or ``team_id``."""
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(
            update(Conversation).where(Conversation.id == uuid.UUID(conversation_id)).values(**ids)
        )


async def team(hub: ConsoleHub, name: str) -> uuid.UUID:
    team_id = new_id()
    async with hub.app[DATABASE].writer.begin() as conn:
        await conn.execute(insert(Team).values(id=team_id, name=name))
    return team_id


def row(page: Any, name: str) -> Any:
    return page.locator(".inbox-item", has_text=name)


async def test_filters_and_live_updates_that_respect_them(page: Any, console_hub: ConsoleHub) -> None:
    mine, mine_sender, mine_id = await customer(console_hub, "Filter Mine")
    other, other_sender, _ = await customer(console_hub, "Filter Other")
    vip, _, vip_id = await customer(console_hub, "Filter Vip")
    await assign(console_hub, mine_id, assignee_id=uuid.UUID(console_hub.agent.id))
    vip_tag = f"vip-{uuid.uuid4().hex[:6]}"
    await tag(console_hub, vip_tag, [vip_id])
    vip_team = await team(console_hub, f"VIP desk {uuid.uuid4().hex[:6]}")
    await assign(console_hub, vip_id, team_id=vip_team)

    await sign_in(page, console_hub, console_hub.agent)
    for name in (mine, other, vip):
        await expect(row(page, name)).to_be_visible(timeout=WAIT_MS)

    await page.select_option("#filter-assignee", "me")
    await expect(row(page, mine)).to_be_visible(timeout=WAIT_MS)
    await expect(row(page, other)).to_have_count(0)
    await expect(row(page, vip)).to_have_count(0)

    # Read mine, and look at the list without it open; then both customers write: mine comes back
    # unread (so the list was refreshed after both), the other one stays filtered out.
    await row(page, mine).click()
    await expect(row(page, mine)).to_have_class("inbox-item status-open selected", timeout=WAIT_MS)
    await page.reload()
    await page.select_option("#filter-assignee", "me")
    await expect(row(page, mine)).to_have_class("inbox-item status-open", timeout=WAIT_MS)
    await console_hub.inject(other_sender, other, "Anyone there?")
    await console_hub.inject(mine_sender, mine, "Still waiting")
    await expect(row(page, mine)).to_have_class(UNREAD, timeout=WAIT_MS)
    await expect(row(page, other)).to_have_count(0)

    await page.select_option("#filter-assignee", "")
    await page.select_option("#filter-tag", vip_tag)
    await expect(row(page, vip)).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".inbox-item")).to_have_count(1)
    await expect(row(page, vip).locator(".badge.tag")).to_have_text(vip_tag)

    await page.select_option("#filter-tag", "")
    await page.select_option("#filter-team", str(vip_team))
    await expect(page.locator(".inbox-item")).to_have_count(1, timeout=WAIT_MS)
    await expect(row(page, vip)).to_be_visible()
    await page.select_option("#filter-team", "")
    await page.select_option("#filter-channel", "email")
    await expect(page.locator(".inbox-body .empty")).to_be_visible(timeout=WAIT_MS)
    await page.select_option("#filter-channel", "api")
    await expect(row(page, other)).to_be_visible(timeout=WAIT_MS)


async def test_unread_state_and_counts(page: Any, console_hub: ConsoleHub) -> None:
    name, sender, _ = await customer(console_hub, "Unread Customer")
    await sign_in(page, console_hub, console_hub.agent)
    item = row(page, name)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    # Keyboard: f goes to the status tabs, the arrows move between them.
    await page.keyboard.press("f")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#status-tab-pending")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#status-tab-pending")).to_be_focused()
    await expect(item).to_have_count(0, timeout=WAIT_MS)
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("#status-tab-open")).to_have_attribute("aria-selected", "true")
    await expect(item).to_have_class("inbox-item status-open unread", timeout=WAIT_MS)
    await expect(item.locator(".unread-dot")).to_be_visible()
    unread = page.locator("#count-unread .count-value")
    await expect(unread).to_have_text(re.compile(r"^\d+$"), timeout=WAIT_MS)
    before = int(await unread.inner_text())
    assert before >= 1

    await item.click()
    await expect(item).to_have_class("inbox-item status-open selected", timeout=WAIT_MS)
    await expect(unread).to_have_text(str(before - 1), timeout=WAIT_MS)

    # Read on the server too: a fresh page load still shows it read.
    await page.reload()
    await expect(row(page, name)).to_be_visible(timeout=WAIT_MS)
    await expect(row(page, name)).not_to_have_class(UNREAD)

    # The customer writes again while another tab is open: unread again, live, and counted.
    await page.keyboard.press("u")  # the unread-only shortcut
    await expect(page.locator("#filter-unread")).to_be_checked()
    await expect(row(page, name)).to_have_count(0, timeout=WAIT_MS)
    await console_hub.inject(sender, name, "One more thing")
    await expect(row(page, name)).to_have_class(UNREAD, timeout=WAIT_MS)
    await expect(unread).to_have_text(str(before), timeout=WAIT_MS)

    await page.click("#count-unread")  # the count is a shortcut to those conversations
    await expect(page.locator("#filter-unread")).to_be_checked()
    await expect(page.locator("#status-tab-open")).to_have_attribute("aria-selected", "true")


async def test_load_more_pages_through_a_filter(page: Any, console_hub: ConsoleHub) -> None:
    prefix = f"Bulk {uuid.uuid4().hex[:4]}"
    ids = []
    for n in range(56):
        await console_hub.inject(f"bulk-{uuid.uuid4().hex}", f"{prefix} {n:02d}", "bulk message")
        await asyncio.sleep(0)
    page_of = await console_hub.api("GET", "/conversations?channel=api&limit=200")
    ids = [c["id"] for c in page_of["items"] if c["contact_name"].startswith(prefix)]
    assert len(ids) == 56
    bulk = f"bulk-{uuid.uuid4().hex[:6]}"
    await tag(console_hub, bulk, ids)

    await sign_in(page, console_hub, console_hub.agent)
    await expect(page.locator(f"#filter-tag option[value='{bulk}']")).to_have_count(1, timeout=WAIT_MS)
    await page.select_option("#filter-tag", bulk)
    items = page.locator(".inbox-item")
    await expect(items).to_have_count(50, timeout=WAIT_MS)
    await page.click("#load-more")
    await expect(items).to_have_count(56, timeout=WAIT_MS)
    await expect(page.locator("#load-more")).to_have_count(0)
    # Newest first across the page boundary: the last one written leads, the first one ends the list.
    await expect(items.first).to_contain_text(f"{prefix} 55")
    await expect(items.last).to_contain_text(f"{prefix} 00")
