"""The conversation view and the customer panel in a real browser: replying on another channel of the
customer, files, canned responses, editing and merging contacts, the agent's name, Hebrew completeness and
dir="auto", and the timings agents feel (printed, and recorded in bench/RESULTS.md by hand)."""

from __future__ import annotations

import json
import re
import statistics
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import expect
from sqlalchemy import insert, select

from channels.api.parse import sign
from crm_core.canned import create_canned
from crm_core.models import AuditEntry, ContactIdentity
from hub.keys import DATABASE
from hub.messages import utcnow
from tests.channels.twilio_sms.fake_twilio import FakeTwilio, signed_form
from tests.console.conftest import (
    SECRET,
    CallbackRecorder,
    ConsoleHub,
    add_agreement,
    add_people,
    eventually,
    screenshot_path,
    sign_in,
    start_hub_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 5_000
OUR_NUMBER = "+14155550100"


PNG_WIDTH = 96


def _png(width: int = PNG_WIDTH, height: int = 64) -> bytes:
    """A real PNG (a blue-to-green gradient), so the browser can decode and lay it out."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def row(y: int) -> bytes:
        return b"\x00" + b"".join(bytes((40, 90 + y * 2, 200 - x)) for x in range(width))

    rows = b"".join(row(y) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


class FileServer:
    """Where a customer's system keeps files it sends through the API channel."""

    def __init__(self) -> None:
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name.endswith(".png"):
            return web.Response(body=PNG, content_type="image/png")
        return web.Response(body=b"%PDF-1.7 invoice", content_type="application/pdf")

    def url(self, name: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/files/{name}"))


class ViewHub(ConsoleHub):
    """The console hub of these tests: the API channel and (fake) Twilio SMS/WhatsApp."""

    twilio: FakeTwilio

    async def sms(self, sender: str, text: str) -> None:
        """A customer texts our number (a signed Twilio webhook)."""
        request = signed_form(
            self.base_url.rstrip("/") + "/webhooks/twilio_sms",
            [("Body", text), ("From", sender), ("MessageSid", "SM" + uuid.uuid4().hex), ("To", OUR_NUMBER)],
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.server.make_url("/webhooks/twilio_sms"), data=request.body, headers=request.headers
            ) as response,
        ):
            assert response.status == 200, await response.text()

    async def send_json(self, method: str, path: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.server.make_url(f"/api/v1{path}"), json=body, headers=headers
            ) as response,
        ):
            assert response.status < 300, await response.text()
            return await response.json()

    async def inject_with(self, sender_id: str, name: str, body: dict[str, Any]) -> None:
        raw = json.dumps(
            {"message_id": uuid.uuid4().hex, "sender": {"id": sender_id, "name": name}, **body}
        ).encode()
        headers = {"X-Switchboard-Signature": sign(SECRET, raw), "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.server.make_url("/webhooks/api"), data=raw, headers=headers) as response,
        ):
            assert response.status < 300, await response.text()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[tuple[CallbackRecorder, FakeTwilio, FileServer]]:
    recorder, files = CallbackRecorder(), FileServer()
    app = web.Application()
    app.router.add_post("/callback", recorder.handle)
    app.router.add_get("/files/{name}", files.handle)
    recorder.server = files.server = TestServer(app, host="127.0.0.1")
    await recorder.server.start_server()
    async with FakeTwilio() as twilio:
        yield recorder, twilio, files
    await recorder.server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def view_hub(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    servers: tuple[CallbackRecorder, FakeTwilio, Any],
) -> AsyncIterator[ViewHub]:
    callback, twilio, _files = servers
    env = {"SWITCHBOARD_API_CALLBACK_URL": callback.url, **twilio.env()}
    server = await start_hub_server(tmp_path_factory, sqlite_template, "conversation-view-hub", env)
    app = server.app
    token, agent, boss = await add_people(app)
    now = utcnow()
    async with app[DATABASE].writer.begin() as conn:
        for shortcut, title, text in (
            (
                "renew",
                "Renewal reminder",
                "Hi {{contact.name}}, your {{agreement.product}} ({{sla.tier}}) ends on "
                "{{agreement.end_date}}. {{unknown.thing}} — {{agent.name}}",
            ),
            ("thanks", "Thank you", "Thank you for writing, {{contact.name}}!"),
            ("hours", "Opening hours", "We answer every day from 8 to 20."),
        ):
            await create_canned(
                conn, shortcut=shortcut, title=title, text=text, language="en", actor="test", now=now
            )
    hub = ViewHub(server=server, token=token, agent=agent, supervisor=boss)
    hub.twilio = twilio
    yield hub
    await server.close()


def new_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def open_conversation(page: Any, name: str, channel: str = "api") -> None:
    on_channel = page.locator(".badge.channel", has_text=re.compile(f"^{channel}$"))
    item = page.locator(".inbox-item", has_text=name).filter(has=on_channel)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await item.click()
    await expect(page.locator(".conv-header h2")).to_have_text(name, timeout=WAIT_MS)


async def _add_agreement(hub: ViewHub, contact_id: str, product: str, ends_in_days: int) -> str:
    return await add_agreement(hub.app, contact_id, product=product, ends_in_days=ends_in_days)


async def _customer_on_api_and_sms(hub: ViewHub, name: str) -> tuple[dict[str, Any], str]:
    """A customer who wrote through the API channel and, from a phone, by SMS (two contacts until merged)."""
    phone = "+9725" + str(uuid.uuid4().int)[:8]
    await hub.inject(f"crm-{uuid.uuid4().hex}", name, "I also texted you")
    conversation = await hub.conversation_of(name)
    await hub.sms(phone, "This is my phone")
    return conversation, phone


async def test_merge_two_contacts_from_the_panel(page: Any, view_hub: ViewHub) -> None:
    name = new_name("Merge Customer")
    conversation, phone = await _customer_on_api_and_sms(view_hub, name)
    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)
    await expect(page.locator("#identities li")).to_have_count(1, timeout=WAIT_MS)

    await page.click("#contact-merge")
    await page.fill("#merge-search", phone[-8:])
    candidate = page.locator("#merge-results .merge-candidate")
    await expect(candidate).to_have_count(1, timeout=WAIT_MS)
    await candidate.click()
    await expect(page.locator("#merge-confirm-box")).to_contain_text(name)
    await page.click("#merge-confirm")
    await expect(page.locator("#merge-dialog")).to_have_count(0, timeout=WAIT_MS)

    await expect(page.locator("#identities li")).to_have_count(2, timeout=WAIT_MS)
    await expect(page.locator("#identities")).to_contain_text("twilio_sms")
    view = await view_hub.api("GET", f"/contacts/{conversation['contact_id']}/360")
    assert {i["channel"] for i in view["identities"]} == {"api", "twilio_sms"}


async def test_reply_on_the_customers_other_channel_and_a_closed_window_is_shown(
    page: Any, view_hub: ViewHub
) -> None:
    name = new_name("Two Channel Customer")
    conversation, phone = await _customer_on_api_and_sms(view_hub, name)
    [sms_contact] = (await view_hub.api("GET", f"/contacts?q={phone[1:]}"))["items"]
    await view_hub.send_json(
        "POST", f"/contacts/{conversation['contact_id']}/merge", {"merge_id": sms_contact["id"]}
    )
    async with view_hub.app[DATABASE].writer.begin() as conn:  # a WhatsApp address they never wrote from
        await conn.execute(
            insert(ContactIdentity).values(
                id=uuid.uuid4(),
                contact_id=uuid.UUID(conversation["contact_id"]),
                channel="twilio_sms",
                account=f"whatsapp:{OUR_NUMBER}",
                external_id=f"whatsapp:{phone}",
                created_at=utcnow(),
            )
        )
    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)
    picker = page.locator("#composer-identity")
    await expect(picker.locator("option")).to_have_count(
        3, timeout=WAIT_MS
    )  # this conversation, SMS, WhatsApp

    await picker.select_option(label=f"twilio_sms · {phone}")
    reply = f"Texting you instead {uuid.uuid4().hex[:6]}"
    await page.fill("#composer-text", reply)
    await page.click("#composer-send")
    sent = await eventually(lambda: [r for r in view_hub.twilio.sent if r.form.get("Body") == reply])
    assert sent[0].form["To"] == phone
    entry = page.locator(".entry.dir-out", has_text=reply)
    await expect(entry.locator(".badge.channel")).to_have_text("twilio_sms", timeout=WAIT_MS)

    await page.locator("#composer-identity").select_option(label=f"twilio_sms · whatsapp:{phone}")
    await page.fill("#composer-text", "Are you there on WhatsApp?")
    await page.click("#composer-send")
    failed = page.locator(".entry.failed", has_text="Are you there on WhatsApp?")
    await expect(failed.locator(".error")).to_contain_text("template", timeout=WAIT_MS)
    await page.screenshot(path=screenshot_path("console-reply-channel.png"))


async def test_attachments_upload_send_and_show(
    page: Any, view_hub: ViewHub, servers: tuple[CallbackRecorder, FakeTwilio, FileServer]
) -> None:
    callback, _twilio, files = servers
    name = new_name("File Customer")
    body = {
        "text": "Here is the photo and the invoice",
        "attachments": [
            {"url": files.url("router.png"), "content_type": "image/png", "filename": "router.png"},
            {"url": files.url("invoice.pdf"), "content_type": "application/pdf", "filename": "invoice.pdf"},
        ],
    }
    await view_hub.inject_with(f"file-{uuid.uuid4().hex}", name, body)
    conversation = await view_hub.conversation_of(name)

    async def stored() -> bool:
        page_ = await view_hub.api("GET", f"/conversations/{conversation['id']}/interactions")
        return all("stored_url" in a for a in page_["items"][0]["attachments"])

    await eventually(stored)
    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)
    inbound = page.locator(".entry.dir-in")
    image = inbound.locator(".attachment.image img")
    await expect(image).to_be_visible(timeout=WAIT_MS)
    # Decoded: fetched with the session cookie from /api/v1/media/{id}.
    await eventually(lambda: image.evaluate(f"img => img.complete && img.naturalWidth === {PNG_WIDTH}"))
    await expect(inbound.locator(".attachment.file")).to_have_text("invoice.pdf")
    assert (await inbound.locator(".attachment.file").get_attribute("href")).startswith("/api/v1/media/")

    await page.set_input_files(
        "#composer-file", files=[{"name": "שלט.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await expect(page.locator("#composer-attachments .chip[data-status=ready]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await page.set_input_files(
        "#composer-file", files=[{"name": "page.html", "mimeType": "text/html", "buffer": b"<b>x</b>"}]
    )
    refused = page.locator("#composer-attachments .chip[data-status=failed]")
    await expect(refused).to_contain_text("text/html", timeout=WAIT_MS)
    await refused.locator(".chip-remove").click()
    reply = f"The photo you asked for {uuid.uuid4().hex[:6]}"
    await page.fill("#composer-text", reply)
    await page.click("#composer-send")

    [sent] = await eventually(lambda: [b for b in callback.bodies if b["text"] == reply])
    [attachment] = sent["attachments"]
    assert attachment["filename"] == "שלט.png" and attachment["content_type"] == "image/png"
    async with aiohttp.ClientSession() as provider, provider.get(attachment["url"]) as fetched:
        assert fetched.status == 200 and await fetched.read() == PNG
    mine = page.locator(".entry.dir-out", has_text=reply).locator(".attachment.image img")
    await expect(mine).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=screenshot_path("console-attachments.png"))


async def test_canned_responses_fill_placeholders_from_the_360_and_the_session(
    page: Any, view_hub: ViewHub
) -> None:
    name = new_name("Canned Customer")
    await view_hub.inject(f"canned-{uuid.uuid4().hex}", name, "When does my plan end?")
    conversation = await view_hub.conversation_of(name)
    tier = await _add_agreement(view_hub, conversation["contact_id"], "Fibre 500", ends_in_days=20)
    ends = (date.today() + timedelta(days=20)).isoformat()
    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)
    await expect(page.locator("#agreements .renewal")).to_have_text("Renewal due in 20 days", timeout=WAIT_MS)

    box = page.locator("#composer-text")
    await box.click()
    await page.keyboard.type("Hello! /")
    picker = page.locator("#canned-picker")
    await expect(picker.locator(".canned-item")).to_have_count(3, timeout=WAIT_MS)
    await page.keyboard.type("re")
    await expect(picker.locator(".canned-item")).to_have_count(1)
    await expect(picker.locator(".canned-item.active")).to_have_attribute("data-shortcut", "renew")
    await page.keyboard.press("Enter")
    await expect(picker).to_be_hidden()
    expected = f"Hello! Hi {name}, your Fibre 500 ({tier}) ends on {ends}. {{{{unknown.thing}}}} — Dana Agent"
    await expect(box).to_have_value(expected)

    # Arrow keys move through the list; Escape closes it and leaves the text alone.
    await box.fill("")
    await page.keyboard.type("/")
    await expect(picker.locator(".canned-item")).to_have_count(3, timeout=WAIT_MS)
    await page.keyboard.press("ArrowDown")
    await expect(picker.locator(".canned-item.active")).to_have_attribute("data-shortcut", "renew")
    await page.keyboard.press("ArrowDown")
    await expect(picker.locator(".canned-item.active")).to_have_attribute("data-shortcut", "thanks")
    await page.screenshot(path=screenshot_path("console-canned.png"))
    await page.keyboard.press("Escape")
    await expect(picker).to_be_hidden()
    await expect(box).to_have_value("/")

    # The "c" shortcut opens the picker from anywhere in the conversation.
    await box.fill("")
    await page.locator(".conv-header h2").click()
    await page.keyboard.press("c")
    await expect(picker.locator(".canned-item")).to_have_count(3, timeout=WAIT_MS)
    await picker.locator(".canned-item", has_text="Thank you").click()
    await expect(box).to_have_value(f"Thank you for writing, {name}!")


async def test_edit_contact_details_in_the_panel_is_audited(page: Any, view_hub: ViewHub) -> None:
    name = new_name("Edit Customer")
    await view_hub.inject(f"edit-{uuid.uuid4().hex}", name, "My email changed")
    conversation = await view_hub.conversation_of(name)
    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)

    await page.click("#contact-edit")
    await expect(page.locator("#edit-display_name")).to_have_value(name)
    await page.fill("#edit-email", "not an address")
    await page.click("#edit-save")
    await expect(page.locator("#contact-dialog .error")).to_contain_text("email", timeout=WAIT_MS)
    renamed = f"נועה {uuid.uuid4().hex[:4]}"
    await page.fill("#edit-display_name", renamed)
    await page.fill("#edit-email", "noa@example.com")
    await page.fill("#edit-phone", "+972 50-123-4567")
    await page.fill("#edit-language", "he")
    await page.click("#edit-save")
    await expect(page.locator("#contact-dialog")).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator(".panel-title")).to_have_text(renamed, timeout=WAIT_MS)
    await expect(page.locator(".contact-details")).to_have_text("noa@example.com · +972501234567")
    await expect(page.locator(".conv-header h2")).to_have_text(renamed)

    contact = await view_hub.api("GET", f"/contacts/{conversation['contact_id']}")
    assert (contact["display_name"], contact["language"]) == (renamed, "he")
    async with view_hub.app[DATABASE].reader.connect() as conn:
        rows = await conn.execute(
            select(AuditEntry.actor, AuditEntry.detail).where(
                AuditEntry.action == "contact.updated", AuditEntry.subject_id == conversation["contact_id"]
            )
        )
        [(actor, detail)] = list(rows)
    assert actor == f"agent:{view_hub.agent.id}"
    assert detail["changes"]["display_name"] == {"from": name, "to": renamed}


async def test_payment_views_in_the_console_are_audited(page: Any, view_hub: ViewHub) -> None:
    name = new_name("Paying Customer")
    await view_hub.inject(f"pay-{uuid.uuid4().hex}", name, "Is my bill paid?")
    conversation = await view_hub.conversation_of(name)
    await _add_agreement(view_hub, conversation["contact_id"], "TV Plus", ends_in_days=200)

    async def views() -> list[str]:
        async with view_hub.app[DATABASE].reader.connect() as conn:
            query = select(AuditEntry.actor).where(
                AuditEntry.action == "contact.payment_viewed",
                AuditEntry.subject_id == conversation["contact_id"],
            )
            return list((await conn.execute(query)).scalars())

    await sign_in(page, view_hub, view_hub.agent)
    await open_conversation(page, name)
    await expect(page.locator("#agreements .agreement")).to_be_visible(timeout=WAIT_MS)
    assert await page.locator(".payment-status").count() == 0
    assert await views() == []

    await page.context.clear_cookies()
    await sign_in(page, view_hub, view_hub.supervisor)
    await open_conversation(page, name)
    await expect(page.locator(".payment-status dd")).to_have_text("current", timeout=WAIT_MS)
    assert await eventually(views) == [f"agent:{view_hub.supervisor.id}"]


async def test_the_header_names_the_agent_after_a_reload(page: Any, view_hub: ViewHub) -> None:
    await sign_in(page, view_hub, view_hub.agent)
    await expect(page.locator(".topbar .me")).to_have_text("Dana Agent")
    await page.reload()  # no sign-in answer now: the name comes from GET /api/v1/session
    await expect(page.locator(".topbar .me")).to_have_text("Dana Agent", timeout=WAIT_MS)


async def test_hebrew_is_complete_and_every_message_and_input_is_dir_auto(
    page: Any, view_hub: ViewHub
) -> None:
    name = new_name("Dir Customer")
    await view_hub.inject(f"dir-{uuid.uuid4().hex}", name, "سلام، the router says ERROR 42")
    await sign_in(page, view_hub, view_hub.agent)
    tables = await page.evaluate(
        """async () => {
            const { STRINGS } = await import("/console/i18n.js");
            return { en: STRINGS.en, he: STRINGS.he };
        }"""
    )
    assert set(tables["he"]) == set(tables["en"]), set(tables["en"]) ^ set(tables["he"])
    assert [key for key, value in tables["he"].items() if not str(value).strip()] == []
    assert [key for key, value in tables["en"].items() if not str(value).strip()] == []

    await page.select_option("#lang-switch", "he")
    await open_conversation(page, name)
    await page.fill("#composer-text", "שלום")
    await page.click("#mode-note")
    await page.fill("#composer-text", "הערה פנימית")
    await page.click("#composer-send")
    await expect(page.locator(".entry.private")).to_have_count(1, timeout=WAIT_MS)
    await page.click("#contact-edit")
    missing = await page.evaluate(
        """() => [...document.querySelectorAll(
                '.entry .text, textarea, input:not([type=file]):not([type=checkbox]):not([type=radio])'
            )].filter((el) => el.getAttribute("dir") !== "auto").map((el) => el.outerHTML)"""
    )
    assert missing == []
    assert await page.locator(".entry .text").count() >= 2
    await page.keyboard.press("Escape")
    await page.click("#contact-merge")
    missing = await page.evaluate(
        "() => [...document.querySelectorAll('#merge-dialog input')].filter((el) => el.dir !== 'auto').length"
    )
    assert missing == 0
    await page.keyboard.press("Escape")
    await page.select_option("#lang-switch", "en")


async def test_timings_agents_feel(browser: Any, view_hub: ViewHub) -> None:
    """Sign-in to a usable inbox and opening a conversation, from the console's own performance marks."""
    names = [new_name("Timing Customer") for _ in range(5)]
    for name in names:
        await view_hub.inject(f"timing-{uuid.uuid4().hex}", name, "How fast is this?")
        await view_hub.conversation_of(name)
    signed_in: list[float] = []
    opened: list[float] = []
    with_panel: list[float] = []
    for name in names:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = await context.new_page()
            await sign_in(page, view_hub, view_hub.agent)
            await expect(page.locator(".inbox-item").first).to_be_visible(timeout=WAIT_MS)
            await open_conversation(page, name)
            await expect(page.locator(".panel-title")).to_be_visible(timeout=WAIT_MS)
            measures = await page.evaluate(
                """() => Object.fromEntries(
                    performance.getEntriesByType("measure").map((m) => [m.name, m.duration]))"""
            )
        finally:
            await context.close()
        signed_in.append(measures["sign-in to usable inbox"])
        opened.append(measures["open conversation"])
        with_panel.append(measures["open conversation with customer panel"])
    print()
    for label, values in (
        ("sign-in to usable inbox", signed_in),
        ("open conversation", opened),
        ("open conversation with customer panel", with_panel),
    ):
        print(
            f"console timing: {label}: median {statistics.median(values):.0f} ms, "
            f"max {max(values):.0f} ms, n={len(values)}"
        )
