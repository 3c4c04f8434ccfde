"""The console's call controls as Twilio requests: which TwiML and parameters, checked. Pure: no I/O.

``connect`` redirects a live (queued) call to ``<Dial>`` the agent; ``call`` is click to call as in Twilio's
click-to-call tutorial: ring the customer from our number, then ``<Dial>`` the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from channels._twilio.parse import e164
from channels.twilio_voice.const import (
    ACCOUNT_PARAM,
    CUSTOMER_PARAM,
    DIALED_PATH,
    RECORDING_PATH,
    STATUS_PATH,
)
from channels.twilio_voice.twiml import Speaker, dial_twiml
from hub.errors import BadRequest, PermanentSendError
from hub.messages import ExternalIdentity

__all__ = ["agent_target", "call_sid_of", "callback_url", "click_to_call", "connect_twiml", "paused_of"]

CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


def callback_url(base: str, channel: str, path: str, identity: ExternalIdentity) -> str:
    """One of our callback URLs, naming the call's identity (Twilio signs the query with the rest)."""
    query = urlencode({ACCOUNT_PARAM: identity.account, CUSTOMER_PARAM: identity.external_id})
    return f"{base.rstrip('/')}/webhooks/{channel}{path}?{query}"


def agent_target(value: object, name: str) -> str:
    """An agent's endpoint: ``client:<identity>``, ``sip:<uri>`` or a phone number (as E.164)."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith(("client:", "sip:")) and value.split(":", 1)[1]:
            return value
        number = e164(value)
        if number is not None:
            return number
    raise BadRequest(f"{name} must be an E.164 number, client:<identity> or sip:<uri>", code="bad_target")


def call_sid_of(thread_key: str | None) -> str:
    """The live call an action is about: the conversation's thread key is its CallSid."""
    if not thread_key:
        raise BadRequest("this action needs the call's CallSid as thread_key", code="bad_params")
    return thread_key


def paused_of(params: Mapping[str, Any]) -> bool:
    """``params.paused``, which must be a boolean."""
    paused = params.get("paused")
    if not isinstance(paused, bool):
        raise BadRequest("recording needs params.paused: true or false", code="bad_params")
    return paused


def connect_twiml(
    channel: str, caller: ExternalIdentity, target: str, *, record: bool, public_url: str | None
) -> str:
    """The TwiML that takes a queued call to the agent; callbacks only when we know our public URL."""
    return dial_twiml(
        target,
        record=record,
        recording_callback=callback_url(public_url, channel, RECORDING_PATH, caller) if public_url else None,
        action_url=callback_url(public_url, channel, DIALED_PATH, caller) if public_url else None,
    )


def click_to_call(
    channel: str,
    recipient: ExternalIdentity,
    agent: str,
    *,
    default_from: str | None,
    record: bool,
    notice: Speaker,
    public_url: str | None,
) -> dict[str, Any]:
    """Keyword arguments of ``calls.create_async``: from the number the customer knows (the identity's
    account), else ``SWITCHBOARD_TWILIO_FROM``; status callbacks under the customer's identity."""
    customer = e164(recipient.external_id)
    if customer is None:
        raise BadRequest("the customer's identity is not a phone number", code="bad_target")
    caller_id = e164(recipient.account) or (e164(default_from) if default_from else None)
    if caller_id is None:
        raise PermanentSendError("no caller ID: set SWITCHBOARD_TWILIO_FROM", code="no_sender")
    identity = ExternalIdentity(channel, caller_id, customer)
    recording = callback_url(public_url, channel, RECORDING_PATH, identity) if public_url else None
    twiml = dial_twiml(agent, record=record, recording_callback=recording, action_url=None, notice=notice)
    params: dict[str, Any] = {"to": customer, "from_": caller_id, "twiml": twiml}
    if public_url:
        params["status_callback"] = callback_url(public_url, channel, STATUS_PATH, identity)
        params["status_callback_event"] = list(CALL_EVENTS)
        params["status_callback_method"] = "POST"
    return params
