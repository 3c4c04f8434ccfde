"""The agent console in a real browser against a real hub: sign-in, live inbox, replies, actions, 360."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.conftest import (
    CallbackRecorder,
    ConsoleHub,
    add_agreement,
    eventually,
    screenshot_path,
    sign_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 5_000


def new_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def open_conversation(page: Any, name: str) -> None:
    item = page.locator(".inbox-item", has_text=name)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await item.click()
    await expect(page.locator(".conv-header h2")).to_have_text(name, timeout=WAIT_MS)


async def test_sign_in_then_live_inbox(page: Any, console_hub: ConsoleHub) -> None:
    await page.goto(console_hub.base_url)
    await page.fill("#email", console_hub.agent.email)
    await page.fill("#password", "wrong password")
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#signin .error")).to_be_visible()

    await sign_in(page, console_hub, console_hub.agent)
    await expect(page.locator(".topbar .me")).to_have_text(console_hub.agent.name)
    await expect(page.locator("#live")).to_have_class("live up", timeout=WAIT_MS)

    name = new_name("Live Customer")
    await console_hub.inject(f"live-{uuid.uuid4().hex}", name, "Hello, my router is down")
    item = page.locator(".inbox-item", has_text=name)
    await expect(item).to_be_visible(timeout=WAIT_MS)  # over /ws/console, no reload
    await expect(item.locator(".badge.channel")).to_have_text("api")
    await page.screenshot(path=screenshot_path("console-inbox.png"))


async def test_reply_reaches_callback_and_note_does_not(
    page: Any, console_hub: ConsoleHub, callback: CallbackRecorder
) -> None:
    name = new_name("Reply Customer")
    await console_hub.inject(f"reply-{uuid.uuid4().hex}", name, "שלום, I need help with my bill")
    conversation = await console_hub.conversation_of(name)
    await sign_in(page, console_hub, console_hub.agent)
    await open_conversation(page, name)
    await expect(page.locator(".entry.dir-in .text")).to_have_attribute("dir", "auto")

    reply = f"Happy to help, {uuid.uuid4().hex[:6]}"
    await page.fill("#composer-text", reply)
    await page.click("#composer-send")
    sent = await eventually(lambda: [b for b in callback.bodies if b["text"] == reply])
    assert sent[0]["conversation_id"] == conversation["id"]
    entry = page.locator(".entry.dir-out", has_text=reply)
    await expect(entry.locator(".delivery")).to_be_visible(timeout=WAIT_MS)

    note = f"Customer sounds upset {uuid.uuid4().hex[:6]}"
    await page.click("#mode-note")
    await page.fill("#composer-text", note)
    await page.click("#composer-send")
    await expect(page.locator(".entry.private", has_text=note)).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".entry.private", has_text=note).locator(".private-badge")).to_be_visible()
    await page.screenshot(path=screenshot_path("console-conversation.png"))

    stored = await console_hub.api("GET", f"/conversations/{conversation['id']}/interactions")
    kinds = {item["text"]: item for item in stored["items"]}
    assert kinds[reply]["direction"] == "out"
    assert kinds[reply]["private"] is False
    assert kinds[note]["private"] is True
    assert kinds[note]["delivery_status"] is None
    await asyncio.sleep(1.5)  # longer than the outbox's poll: a note would have gone out by now
    assert not [b for b in callback.bodies if b["text"] == note]


async def test_assign_transfer_resolve(page: Any, console_hub: ConsoleHub) -> None:
    name = new_name("Action Customer")
    await console_hub.inject(f"act-{uuid.uuid4().hex}", name, "Please call me back")
    conversation = await console_hub.conversation_of(name)
    path = f"/conversations/{conversation['id']}"
    await sign_in(page, console_hub, console_hub.agent)
    await open_conversation(page, name)

    await page.click("#act-assign")
    await expect(page.locator("#conv-assignee")).to_have_text("Assigned to you", timeout=WAIT_MS)
    assert (await console_hub.api("GET", path))["assignee_id"] == console_hub.agent.id

    await page.click("#act-transfer")
    # A picker of agents by name (with their availability), never a raw id.
    choice = page.locator("#transfer-target option", has_text=console_hub.supervisor.name)
    await expect(choice).to_have_count(1)
    await page.select_option("#transfer-target", console_hub.supervisor.id)
    await page.fill("#transfer-note", "Billing question, over to you")
    await page.click("#transfer-confirm")
    await expect(page.locator("#conv-assignee")).to_have_text("Assigned", timeout=WAIT_MS)
    assert (await console_hub.api("GET", path))["assignee_id"] == console_hub.supervisor.id

    await page.keyboard.press("e")  # the resolve shortcut
    await expect(page.locator("#conv-status")).to_have_text("Resolved", timeout=WAIT_MS)
    assert (await console_hub.api("GET", path))["status"] == "resolved"
    await page.click("#act-reopen")
    await expect(page.locator("#conv-status")).to_have_text("Open", timeout=WAIT_MS)


async def _add_agreement(hub: ConsoleHub, contact_id: str, *, ends_in_days: int) -> str:
    product = new_name("Fibre 500")
    await add_agreement(
        hub.app,
        contact_id,
        product=product,
        ends_in_days=ends_in_days,
        payment_status="overdue",
        entitlements=("priority_support",),
    )
    return product


async def test_360_panel_shows_agreements_and_hides_payment_from_agents(
    page: Any, browser: Any, console_hub: ConsoleHub
) -> None:
    name = new_name("Contract Customer")
    await console_hub.inject(f"c360-{uuid.uuid4().hex}", name, "When does my contract end?")
    conversation = await console_hub.conversation_of(name)
    product = await _add_agreement(console_hub, conversation["contact_id"], ends_in_days=12)

    await sign_in(page, console_hub, console_hub.agent)
    await open_conversation(page, name)
    card = page.locator("#agreements .agreement", has_text=product)
    await expect(card).to_be_visible(timeout=WAIT_MS)
    await expect(card.locator(".sla-tier dd")).to_have_text(re.compile("^gold-"))
    await expect(card.locator(".ends-on dd")).to_have_text((date.today() + timedelta(days=12)).isoformat())
    await expect(card.locator(".renewal")).to_have_text("Renewal due in 12 days")
    await expect(page.locator(".panel-title")).to_have_text(name)
    await expect(page.locator("#identities")).to_contain_text("api")
    await expect(page.locator("#suggestions-unavailable")).to_be_visible()  # the hub runs without models
    assert await card.locator(".payment-plan, .payment-status").count() == 0
    await page.screenshot(path=screenshot_path("console-360.png"))

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        boss_page = await context.new_page()
        await sign_in(boss_page, console_hub, console_hub.supervisor)
        await open_conversation(boss_page, name)
        boss_card = boss_page.locator("#agreements .agreement", has_text=product)
        await expect(boss_card.locator(".payment-plan dd")).to_have_text("monthly", timeout=WAIT_MS)
        await expect(boss_card.locator(".payment-status dd")).to_have_text("overdue")
    finally:
        await context.close()


async def test_hebrew_mirrors_the_layout_and_help_lists_shortcuts(page: Any, console_hub: ConsoleHub) -> None:
    await sign_in(page, console_hub, console_hub.agent)
    await page.keyboard.press("?")
    await expect(page.locator("#help kbd", has_text="j")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#help")).to_have_count(0)

    await page.select_option("#lang-switch", "he")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "he")
    await expect(page.locator("#sign-out")).to_have_text("יציאה")
    await page.reload()  # the choice is kept, and so is the session
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#inbox")).to_be_visible()


async def test_phone_shows_one_pane_at_a_time(browser: Any, console_hub: ConsoleHub) -> None:
    name = new_name("Phone Customer")
    await console_hub.inject(f"phone-{uuid.uuid4().hex}", name, "مرحبا, my order #42 is late")
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = await context.new_page()
        await sign_in(phone, console_hub, console_hub.agent)
        await open_conversation(phone, name)
        await expect(phone.locator("#inbox")).to_be_hidden()
        await phone.click(".conv-header .back")
        await expect(phone.locator("#inbox")).to_be_visible()
        await expect(phone.locator("#conversation")).to_be_hidden()
    finally:
        await context.close()
