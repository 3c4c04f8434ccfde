"""The ingest benchmark's baseline: the webhooks' HTTP contract with no storage behind it.

Verifies the same signature (the API channel's HMAC over JSON, or Twilio's over the form), parses the same
body and answers 200 with a body shaped like the hub's, so that ``bench/ingest.py`` can tell how much of
the hub's cost is the HTTP stack itself. Reads the hub's settings: ``SWITCHBOARD_HOST``,
``SWITCHBOARD_PORT`` and ``SWITCHBOARD_API_SECRET`` (also the Twilio auth token here).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import itertools
import os
import urllib.parse

import orjson
from aiohttp import web

SIGNATURE_HEADER = "X-Switchboard-Signature"
SECRET_KEY = web.AppKey("secret", bytes)
COUNTER_KEY: web.AppKey[itertools.count[int]] = web.AppKey("counter")


def _error(status: int, code: str, detail: str) -> web.Response:
    body = orjson.dumps({"error": code, "detail": detail})
    return web.Response(status=status, body=body, content_type="application/json")


def _signature_ok(secret: bytes, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def _missing_field(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return "body"
    sender = payload.get("sender")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), str):
        return "sender.id"
    for name in ("message_id", "text"):
        if not isinstance(payload.get(name), str):
            return name
    return None


async def handle_api_webhook(request: web.Request) -> web.Response:
    """Verify, parse and acknowledge one API-channel message without storing it."""
    body = await request.read()
    if not _signature_ok(request.app[SECRET_KEY], body, request.headers.get(SIGNATURE_HEADER, "")):
        return _error(401, "bad_signature", "signature does not match the body")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "malformed_body", "body is not JSON")
    missing = _missing_field(payload)
    if missing is not None:
        return _error(400, "malformed_body", f"missing or invalid field: {missing}")
    counter = request.app[COUNTER_KEY]
    number = str(next(counter))
    answer = {"interaction_id": number, "conversation_id": number, "contact_id": number, "duplicate": False}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


def _twilio_signature_ok(token: bytes, url: str, fields: list[tuple[str, str]], header: str) -> bool:
    signed = url + "".join(name + value for name, value in sorted(fields))
    expected = base64.b64encode(hmac.new(token, signed.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, header)


async def handle_twilio_webhook(request: web.Request) -> web.Response:
    """Verify Twilio's signature over the form, check the fields and answer empty TwiML, storing nothing."""
    body = await request.read()
    fields = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    url = f"http://{request.host}{request.path_qs}"
    if not _twilio_signature_ok(
        request.app[SECRET_KEY], url, fields, request.headers.get("X-Twilio-Signature", "")
    ):
        return _error(401, "bad_signature", "signature does not match")
    names = {name for name, _ in fields}
    if not {"From", "To", "MessageSid"} <= names:
        return _error(400, "malformed_body", "missing From, To or MessageSid")
    return web.Response(text="<Response/>", content_type="text/xml")


async def handle_ready(_request: web.Request) -> web.Response:
    """Answer 200: the bare handler is ready as soon as it listens."""
    return web.json_response({"status": "ready"})


def make_app(secret: str) -> web.Application:
    """Build the bare application."""
    app = web.Application()
    app[SECRET_KEY] = secret.encode()
    app[COUNTER_KEY] = itertools.count(1)
    app.router.add_post("/webhooks/api", handle_api_webhook)
    app.router.add_post("/webhooks/twilio_sms", handle_twilio_webhook)
    app.router.add_get("/readyz", handle_ready)
    return app


def _new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, as the hub uses; else asyncio's default."""
    if importlib.util.find_spec("uvloop") is None:
        return asyncio.new_event_loop()
    import uvloop

    return uvloop.new_event_loop()


def main() -> None:
    """Serve until terminated."""
    secret = os.environ.get("SWITCHBOARD_API_SECRET")
    if not secret:
        raise SystemExit("SWITCHBOARD_API_SECRET is required")
    host = os.environ.get("SWITCHBOARD_HOST", "127.0.0.1")
    port = int(os.environ.get("SWITCHBOARD_PORT", "8080"))
    # No access log: the baseline is the floor of the HTTP stack, not of logging.
    app = make_app(secret)
    web.run_app(app, host=host, port=port, access_log=None, print=None, shutdown_timeout=5, loop=_new_loop())


if __name__ == "__main__":
    main()
