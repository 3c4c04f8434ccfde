"""Files from the composer: uploaded within the limits, attached to a reply by ``stored_id``, fetched by the
provider through a link that carries the file's key, shown to signed-in users at /api/v1/media/{id}."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from crm_core.accounts import create_token
from crm_core.models import Role
from hub.api.messaging import PUBLIC_MEDIA_PATH, public_media_routes
from hub.app import create_app
from hub.keys import DATABASE
from hub.messages import utcnow
from hub.settings import load_settings
from tests.hub.conftest import Hub
from tests.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@dataclass
class Callback:
    """The API channel's receiver: keeps every reply."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        return web.json_response({"ok": True})


@pytest.fixture
async def callback(aiohttp_server: Any) -> Callback:
    recorder = Callback()
    app = web.Application()
    app.router.add_post("/callback", recorder.handle)
    server = await aiohttp_server(app)
    recorder.url = str(server.make_url("/callback"))
    return recorder


async def _start(env: dict[str, str], aiohttp_client: Any) -> Hub:
    app = create_app(load_settings(env), env)
    # The providers' link lives on the hub's root app (hub/app.py mounts public_media_routes()).
    if not any(getattr(r.resource, "canonical", None) == PUBLIC_MEDIA_PATH for r in app.router.routes()):
        app.router.add_routes(public_media_routes())
    client = await aiohttp_client(app)
    async with app[DATABASE].writer.begin() as conn:
        token, _ = await create_token(conn, name=f"t-{uuid.uuid4().hex[:6]}", role=Role.AGENT, now=utcnow())
    return Hub(client=client, token=token)


@pytest.fixture
async def media_hub(runtime: dict[str, str], aiohttp_client: Any, callback: Callback) -> Hub:
    env = {**runtime, "SWITCHBOARD_API_CALLBACK_URL": callback.url, "SWITCHBOARD_MEDIA_MAX_BYTES": "2048"}
    return await _start(env, aiohttp_client)


def _auth(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token}"}


async def _upload(
    hub: Hub, content: bytes, filename: str = "router.png", content_type: str | None = "image/png"
) -> Any:
    form = aiohttp.FormData()
    form.add_field("note", "ignored")
    form.add_field("file", content, filename=filename, content_type=content_type)
    return await hub.client.post("/api/v1/media", data=form, headers=_auth(hub))


async def test_an_upload_is_kept_and_shown_to_signed_in_users_only(media_hub: Hub) -> None:
    response = await _upload(media_hub, PNG, filename="C:\\Users\\dana\\router.png")
    assert response.status == 201, await response.text()
    upload = await response.json()
    assert upload["content_type"] == "image/png" and upload["size"] == len(PNG)
    assert upload["filename"] == "router.png"
    assert upload["url"] == f"/api/v1/media/{upload['id']}"

    shown = await media_hub.client.get(upload["url"], headers=_auth(media_hub))
    assert shown.status == 200 and await shown.read() == PNG
    assert shown.headers["Content-Type"] == "image/png"
    assert (await media_hub.client.get(upload["url"])).status == 401


async def test_the_type_is_guessed_from_the_name_when_the_browser_does_not_say(media_hub: Hub) -> None:
    response = await _upload(media_hub, b"%PDF-1.7 ...", filename="invoice.pdf", content_type=None)
    assert response.status == 201, await response.text()
    assert (await response.json())["content_type"] == "application/pdf"


async def test_uploads_over_the_limits_are_refused(media_hub: Hub) -> None:
    too_big = await _upload(media_hub, b"x" * 2049)
    assert too_big.status == 413 and (await too_big.json())["error"] == "file_too_large"
    html = await _upload(media_hub, b"<script>alert(1)</script>", filename="x.html", content_type="text/html")
    assert html.status == 415 and (await html.json())["error"] == "unsupported_media_type"
    empty = await _upload(media_hub, b"")
    assert empty.status == 400
    not_a_form = await media_hub.client.post("/api/v1/media", json={"file": "x"}, headers=_auth(media_hub))
    assert not_a_form.status == 400
    form = aiohttp.FormData()
    form.add_field("other", b"abc", filename="a.png", content_type="image/png")
    no_file = await media_hub.client.post("/api/v1/media", data=form, headers=_auth(media_hub))
    assert no_file.status == 400 and (await no_file.json())["error"] == "missing_field"


async def _conversation(hub: Hub) -> dict[str, Any]:
    sent = await hub.send({"message_id": uuid.uuid4().hex, "sender": {"id": "crm-9"}, "text": "photo please"})
    return dict(await sent.json())


async def _reply(hub: Hub, conversation_id: str, body: dict[str, Any]) -> Any:
    path = f"/api/v1/conversations/{conversation_id}/messages"
    return await hub.client.post(path, json=body, headers=_auth(hub))


async def test_a_reply_carries_the_upload_and_the_provider_fetches_it_by_its_link(
    media_hub: Hub, callback: Callback
) -> None:
    conversation = await _conversation(media_hub)
    upload = await (await _upload(media_hub, PNG)).json()
    response = await _reply(
        media_hub,
        conversation["conversation_id"],
        {"text": "Here it is", "attachments": [{"stored_id": upload["id"]}]},
    )
    assert response.status == 202, await response.text()

    [sent] = await eventually(lambda: _bodies(callback), what="the reply at the callback")
    [attachment] = sent["attachments"]
    assert attachment["content_type"] == "image/png" and attachment["filename"] == "router.png"
    assert attachment["size"] == len(PNG)
    link = attachment["url"]
    assert link.startswith(str(media_hub.client.make_url("/media/")))  # the request's origin: no PUBLIC_URL
    async with aiohttp.ClientSession() as provider, provider.get(link) as fetched:  # no credentials
        assert fetched.status == 200 and await fetched.read() == PNG
    wrong_key = URL(link).path.rsplit("/", 1)[0] + "/not-the-key"
    assert (await media_hub.client.get(wrong_key)).status == 404

    timeline = await (
        await media_hub.get(f"/api/v1/conversations/{conversation['conversation_id']}/interactions")
    ).json()
    [reply] = [item for item in timeline["items"] if item["direction"] == "out"]
    assert reply["attachments"][0]["stored_url"] == upload["url"]


async def test_attachments_alone_make_a_reply_and_unknown_files_or_notes_with_files_are_refused(
    media_hub: Hub, callback: Callback
) -> None:
    conversation_id = (await _conversation(media_hub))["conversation_id"]
    upload = await (await _upload(media_hub, PNG)).json()
    alone = await _reply(media_hub, conversation_id, {"attachments": [{"stored_id": upload["id"]}]})
    assert alone.status == 202, await alone.text()
    unknown = await _reply(
        media_hub, conversation_id, {"text": "x", "attachments": [{"stored_id": str(uuid.uuid4())}]}
    )
    assert unknown.status == 400 and "stored_id" in (await unknown.json())["detail"]
    garbage = await _reply(media_hub, conversation_id, {"text": "x", "attachments": [{"stored_id": "nope"}]})
    assert garbage.status == 400
    note = await _reply(
        media_hub,
        conversation_id,
        {"text": "x", "private": True, "attachments": [{"stored_id": upload["id"]}]},
    )
    assert note.status == 400


async def test_inbound_media_has_no_public_link(media_hub: Hub, aiohttp_server: Any) -> None:
    files = web.Application()
    files.router.add_get("/photo.png", lambda _r: web.Response(body=PNG, content_type="image/png"))
    server = await aiohttp_server(files)
    body = {
        "message_id": uuid.uuid4().hex,
        "sender": {"id": "crm-10"},
        "attachments": [{"url": str(server.make_url("/photo.png")), "content_type": "image/png"}],
    }
    sent = await (await media_hub.send(body)).json()

    async def stored() -> Any:
        page = await (
            await media_hub.get(f"/api/v1/conversations/{sent['conversation_id']}/interactions")
        ).json()
        return page["items"][0]["attachments"][0].get("stored_id")

    media_id = await eventually(stored, what="the inbound file to be stored")
    assert (await media_hub.client.get(f"/media/{media_id}/anything")).status == 404
    assert (await media_hub.client.get(f"/media/{media_id}/")).status == 404


async def _bodies(callback: Callback) -> list[dict[str, Any]] | None:
    return callback.bodies or None
