"""The console with the phone and email channels: a queued call is taken on the agent's own phone and its
recording paused from the conversation view, the contact is called from the 360 panel, and a mail shows its
subject, its machine-mail flag and its own HTML in a frame that runs and loads nothing."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import expect
from sqlalchemy import update

from crm_core.accounts import create_agent, create_token
from crm_core.models import Agent, Role
from hub.keys import DATABASE, INBOX
from hub.messages import Attachment, ExternalIdentity, InboundKind, InboundMessage, utcnow
from tests.channels.twilio_sms.fake_twilio import signed_form
from tests.channels.twilio_voice.conftest import call_fields
from tests.channels.twilio_voice.fake_voice import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioVoice
from tests.console.conftest import (
    PASSWORD,
    ConsoleHub,
    Person,
    eventually,
    screenshot_path,
    sign_in,
    start_hub_server,
)
from tests.console.test_console import WAIT_MS, open_conversation

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

PUBLIC = "https://hub.example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
AGENT_PHONE = "client:noa"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake_twilio() -> AsyncIterator[FakeTwilioVoice]:
    fake = FakeTwilioVoice()
    await fake.start()
    yield fake
    await fake.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone_hub(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, fake_twilio: FakeTwilioVoice
) -> AsyncIterator[ConsoleHub]:
    env = {
        "SWITCHBOARD_PUBLIC_URL": PUBLIC,
        "SWITCHBOARD_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SWITCHBOARD_TWILIO_API_BASE": fake_twilio.base_url,
        "SWITCHBOARD_TWILIO_FROM": "+14155550100",
        "SWITCHBOARD_TWILIO_VOICE_RECORD": "true",
    }
    server = await start_hub_server(tmp_path_factory, sqlite_template, "phone-hub", env)
    app = server.app
    async with app[DATABASE].writer.begin() as conn:
        agent = await create_agent(
            conn, name="Noa Agent", email="noa@example.com", role=Role.AGENT, password=PASSWORD, now=utcnow()
        )
        await conn.execute(
            update(Agent).where(Agent.id == uuid.UUID(str(agent.id))).values(phone=AGENT_PHONE)
        )
        token, _ = await create_token(conn, name="phone-test", role=Role.ADMIN, now=utcnow())
    person = Person(str(agent.id), agent.name, agent.email)
    yield ConsoleHub(server=server, token=token, agent=person, supervisor=person)
    await server.close()


async def _twilio(hub: ConsoleHub, path: str, fields: list[tuple[str, str]]) -> None:
    """A webhook from Twilio, signed for the public URL the hub is configured with."""
    request = signed_form(PUBLIC + path, fields)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            hub.server.make_url(request.path_qs), data=request.body, headers=request.headers
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def _name_contact(hub: ConsoleHub, contact_id: str, name: str) -> None:
    headers = {"Authorization": f"Bearer {hub.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            hub.server.make_url(f"/api/v1/contacts/{contact_id}"),
            json={"display_name": name},
            headers=headers,
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def test_an_agent_takes_a_queued_call_pauses_its_recording_and_calls_back(
    page: Any, phone_hub: ConsoleHub, fake_twilio: FakeTwilioVoice
) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    caller = "+9725" + str(uuid.uuid4().int)[:8]
    fields = call_fields(call_sid, From=caller, Caller=caller)
    await _twilio(phone_hub, "/webhooks/twilio_voice", fields)
    query = f"?account=%2B14155550100&customer={caller.replace('+', '%2B')}"
    await _twilio(
        phone_hub, "/webhooks/twilio_voice/gather" + query, [*fields, ("SpeechResult", "My bill is wrong")]
    )
    fake_twilio.live_call(call_sid, recording="in-progress")
    page_of_calls = await phone_hub.api("GET", "/conversations?channel=twilio_voice&limit=100")
    [conversation] = [c for c in page_of_calls["items"] if c["thread_key"] == call_sid]
    name = f"Caller {uuid.uuid4().hex[:6]}"
    await _name_contact(phone_hub, conversation["contact_id"], name)

    await sign_in(page, phone_hub, phone_hub.agent)
    await open_conversation(page, name)
    await expect(page.locator(".entry .call-status", has_text="Waiting in queue")).to_be_visible(
        timeout=WAIT_MS
    )
    await page.screenshot(path=screenshot_path("console-call.png"))
    # A caller with no written address: the composer says a call is answered by calling.
    await expect(page.locator("#composer-call-only")).to_be_visible()
    await expect(page.locator("#composer-identity")).to_have_count(0)

    await page.click("#act-take-call")
    live = fake_twilio.calls[call_sid]
    await eventually(lambda: any(AGENT_PHONE.removeprefix("client:") in twiml for twiml in live.twiml))
    assert "<Dial" in live.twiml[-1]

    await page.click("#act-recording")
    await eventually(lambda: live.recording == "paused")
    await expect(page.locator("#act-recording")).to_have_text("Resume recording", timeout=WAIT_MS)
    await page.click("#act-recording")
    await eventually(lambda: live.recording == "in-progress")

    before = set(fake_twilio.calls)
    await page.click(f'.call-button[data-number="{caller}"]')
    placed = await eventually(lambda: set(fake_twilio.calls) - before)
    [new_call] = [fake_twilio.calls[sid] for sid in placed]
    # The customer is rung from the line they called, then put through to the agent's own phone.
    assert (new_call.form.get("To"), new_call.form.get("From")) == (caller, "+14155550100")
    assert "<Dial" in new_call.twiml[0] and "noa" in new_call.twiml[0]


async def test_a_mail_shows_its_subject_machine_flag_and_html_in_a_closed_frame(
    page: Any, phone_hub: ConsoleHub
) -> None:
    name = f"Mail {uuid.uuid4().hex[:6]}"
    sender = f"{uuid.uuid4().hex[:8]}@example.com"
    [stored] = await phone_hub.app[INBOX].ingest(
        [
            InboundMessage(
                identity=ExternalIdentity("email", "support@example.net", sender),
                external_message_id=f"{uuid.uuid4().hex}@mail.example.com",
                thread_key="t",
                kind=InboundKind.TEXT,
                received_at=utcnow(),
                subject="החשבונית של נובמבר",
                text="I am out of the office until Monday.",
                details={
                    "machine": "auto_reply",
                    "html": '<p>Out of office</p><img src="https://tracker.example/p.gif">'
                    '<img id="logo" src="cid:logo1@mail.example.com">',
                },
                attachments=(
                    Attachment(
                        "image/png", filename="logo.png", media_id="logo1@mail.example.com", content=PNG
                    ),
                ),
            )
        ]
    )
    await _name_contact(phone_hub, stored.contact_id, name)
    await sign_in(page, phone_hub, phone_hub.agent)
    await open_conversation(page, name)
    entry = page.locator(".entry", has_text="I am out of the office")
    await expect(entry.locator(".subject")).to_have_text("החשבונית של נובמבר", timeout=WAIT_MS)
    await expect(entry.locator(".subject")).to_have_attribute("dir", "auto")
    await expect(entry.locator(".badge.machine")).to_contain_text("auto-reply")
    frame = entry.locator("iframe.mail-html")
    assert await frame.get_attribute("sandbox") == ""
    await entry.locator(".mail-html-box summary").click()
    inside = page.frame_locator(".entry iframe.mail-html")
    await expect(inside.locator("p")).to_have_text("Out of office")
    # The mail's own inline image is shown (as data: the frame may not fetch); the remote one never loads.
    logo = inside.locator("#logo")
    await expect(logo).to_have_attribute("src", re.compile(r"^data:image/png;base64,"), timeout=WAIT_MS)
    assert await logo.evaluate("img => img.complete && img.naturalWidth") == 1
    await page.screenshot(path=screenshot_path("console-mail.png"))


async def test_a_written_reply_to_a_call_goes_to_the_callers_sms(
    page: Any, phone_hub: ConsoleHub, fake_twilio: FakeTwilioVoice
) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    caller = "+9725" + str(uuid.uuid4().int)[:8]
    await _twilio(phone_hub, "/webhooks/twilio_voice", call_fields(call_sid, From=caller, Caller=caller))
    # The same number once wrote by SMS: the verified number puts both identities on one contact.
    await _twilio(
        phone_hub,
        "/webhooks/twilio_sms",
        [("MessageSid", "SM" + uuid.uuid4().hex), ("AccountSid", ACCOUNT_SID), ("From", caller),
         ("To", "+14155550100"), ("Body", "Hi"), ("NumMedia", "0")],
    )  # fmt: skip
    calls = await phone_hub.api("GET", "/conversations?channel=twilio_voice&limit=100")
    [conversation] = [c for c in calls["items"] if c["thread_key"] == call_sid]
    name = f"Caller {uuid.uuid4().hex[:6]}"
    await _name_contact(phone_hub, conversation["contact_id"], name)
    await sign_in(page, phone_hub, phone_hub.agent)
    await page.locator(".inbox-item", has_text=name).filter(has=page.locator(".channel-twilio_voice")).click()
    await expect(page.locator(".conv-header .badge.channel")).to_have_text("twilio_voice", timeout=WAIT_MS)
    picker = page.locator("#composer-identity")
    await expect(picker).to_contain_text(f"twilio_sms · {caller}")
    await expect(picker.locator("option")).to_have_count(1)  # no "this conversation" for a call
    await page.fill("#composer-text", "Following up on your call: here is the link.")
    await page.click("#composer-send")

    def texted() -> bool:
        return any(r.form.get("To") == caller and "Messages.json" in r.path for r in fake_twilio.requests)

    await eventually(texted)
