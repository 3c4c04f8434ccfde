"""The SMS tests' fake Twilio REST API, extended with what the phone channel calls.

- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``: ``To``, ``From``, ``Twiml`` or ``Url``,
  ``StatusCallback``, repeated ``StatusCallbackEvent``; answers 201 with a Call JSON (docs "Call resource").
- ``POST …/Calls/{CallSid}.json``: ``Twiml`` (or ``Url``/``Status``) for a live call; 200 with the Call, or
  404 (code 20404) for a call the fake does not know as live.
- ``POST …/Calls/{CallSid}/Recordings/{Sid}.json``: ``Status`` (``paused``, ``in-progress``, ``stopped``),
  ``PauseBehavior``; ``Twilio.CURRENT`` is the call's active recording; 200 with a Recording JSON, or 404
  when the call has none (docs "Update a Recording resource").
- ``GET …/Recordings/{RecordingSid}``: a recording's audio (WAV), Basic auth.

Errors queued with ``fail_next`` apply to these endpoints too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict

from tests.channels.twilio_sms.fake_twilio import (
    ACCOUNT_SID,
    API_VERSION,
    AUTH_TOKEN,
    TWILIO_API_BASE,
    FakeTwilio,
    RecordedRequest,
)

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "FakeTwilioVoice", "LiveCall"]


@dataclass
class LiveCall:
    """A call the fake knows: placed through it, or declared live by a test."""

    sid: str
    form: MultiDict[str]
    twiml: list[str] = field(default_factory=list)
    """Every TwiML the call was given (at creation, then by updates), oldest first."""
    recording: str | None = None
    """The active recording's status (``in-progress``, ``paused``, ``stopped``), None without one."""
    recording_sid: str = field(default_factory=lambda: "RE" + uuid.uuid4().hex)


@dataclass
class FakeTwilioVoice(FakeTwilio):
    """FakeTwilio plus Calls, Call updates, Call Recording updates, and recording downloads."""

    calls: dict[str, LiveCall] = field(default_factory=dict)
    recordings: dict[str, bytes] = field(default_factory=dict)

    def live_call(self, sid: str, *, recording: str | None = None) -> LiveCall:
        """Declare a call in progress (an inbound call waiting in the queue), optionally being recorded."""
        call = LiveCall(sid, MultiDict(), recording=recording)
        self.calls[sid] = call
        return call

    def add_recording(self, content: bytes) -> str:
        """Host a recording; returns the ``RecordingUrl`` Twilio would send (on api.twilio.com)."""
        sid = "RE" + uuid.uuid4().hex
        self.recordings[sid] = content
        return f"{TWILIO_API_BASE}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"

    def app(self) -> web.Application:
        app = super().app()
        base = "/2010-04-01/Accounts/{account}"
        app.router.add_post(base + "/Calls.json", self._create_call)
        app.router.add_post(base + "/Calls/{call}.json", self._update_call)
        app.router.add_post(base + "/Calls/{call}/Recordings/{recording}.json", self._update_recording)
        app.router.add_get(base + "/Recordings/{recording}", self._recording_audio)
        return app

    async def _checked(self, request: web.Request) -> tuple[RecordedRequest, web.Response | None]:
        """Record the request; an error response when it is unauthorized or a failure is queued."""
        form = MultiDict((name, str(value)) for name, value in (await request.post()).items())
        authorized = self._authorized(request) and request.match_info["account"] == self.account_sid
        record = RecordedRequest(request.method, request.path, dict(request.headers), form, authorized)
        self.requests.append(record)
        if not authorized:
            return record, self._error(401, 20003, "Authenticate")
        if self._failures:
            failure = self._failures.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else None
            return record, self._error(failure.status, failure.code, failure.message, headers)
        return record, None

    async def _create_call(self, request: web.Request) -> web.Response:
        record, refusal = await self._checked(request)
        if refusal is not None:
            return refusal
        form = record.form
        if not form.get("To"):
            return self._error(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            return self._error(400, 21213, "No 'From' number is specified")
        if not form.get("Twiml") and not form.get("Url") and not form.get("ApplicationSid"):
            return self._error(400, 21205, "Url parameter is required")
        sid = "CA" + uuid.uuid4().hex
        call = LiveCall(sid, form, twiml=[form["Twiml"]] if form.get("Twiml") else [])
        self.calls[sid] = call
        return web.json_response(self._call_json(call, "queued"), status=201)

    async def _update_call(self, request: web.Request) -> web.Response:
        record, refusal = await self._checked(request)
        if refusal is not None:
            return refusal
        call = self.calls.get(request.match_info["call"])
        if call is None:
            return self._error(404, 20404, "The requested resource was not found")
        if record.form.get("Twiml"):
            call.twiml.append(record.form["Twiml"])
        return web.json_response(self._call_json(call, "in-progress"))

    async def _update_recording(self, request: web.Request) -> web.Response:
        record, refusal = await self._checked(request)
        if refusal is not None:
            return refusal
        call = self.calls.get(request.match_info["call"])
        wanted = request.match_info["recording"]
        if call is None or call.recording is None or wanted not in ("Twilio.CURRENT", call.recording_sid):
            return self._error(404, 20404, "The requested resource was not found")
        status = record.form.get("Status")
        if status not in ("paused", "in-progress", "stopped"):
            return self._error(400, 21220, "Invalid call state for this action")
        call.recording = status
        return web.json_response(self._recording_json(call))

    async def _recording_audio(self, request: web.Request) -> web.Response:
        authorized = self._authorized(request) and request.match_info["account"] == self.account_sid
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), MultiDict(), authorized)
        )
        if not authorized:
            return self._error(401, 20003, "Authenticate")
        content = self.recordings.get(request.match_info["recording"])
        if content is None:
            return self._error(404, 20404, "The requested resource was not found")
        return web.Response(body=content, content_type="audio/x-wav")

    def _call_json(self, call: LiveCall, status: str) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call.sid}.json"
        return {
            "sid": call.sid,
            "account_sid": self.account_sid,
            "to": call.form.get("To"),
            "from": call.form.get("From"),
            "status": status,
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "parent_call_sid": None,
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "uri": uri,
            "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
        }

    def _recording_json(self, call: LiveCall) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        call_uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call.sid}"
        return {
            "sid": call.recording_sid,
            "account_sid": self.account_sid,
            "call_sid": call.sid,
            "conference_sid": None,
            "status": call.recording,
            "source": "DialVerb",
            "channels": 2,
            "duration": "-1",
            "api_version": API_VERSION,
            "date_created": now,
            "date_updated": now,
            "start_time": now,
            "uri": f"{call_uri}/Recordings/{call.recording_sid}.json",
        }
