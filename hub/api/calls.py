"""REST for the phone: act on a live call of a conversation (take it, pause its recording) and place a call
to a contact (click to call). The phone channel does the work through ``Channel.control``."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from crm_core.audit import audit
from crm_core.calls import agent_phone, numbers_of
from crm_core.conversations import get_conversation
from crm_core.errors import NotFoundError
from crm_core.outbox import reply_target
from hub.api.auth import Principal, require_role
from hub.api.params import json_body, optional_body_id, path_id, respond
from hub.contract import Channel
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.keys import DATABASE, OUTBOX
from hub.messages import ExternalIdentity, utcnow

__all__ = ["call_routes"]

PEOPLE = ("agent", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
PHONE_CHANNEL = "twilio_voice"
DEFAULT_LINE = "default"
"""The account of a call to a number that never called us: the phone channel's configured caller id."""


def _channel(request: web.Request, name: str) -> Channel[Any]:
    channel = request.config_dict[OUTBOX].channels.get(name)
    if channel is None:
        raise Conflict(f"channel {name!r} is not enabled on this hub", code="channel_disabled")
    return channel


def _params(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise BadRequest("params must be an object", code="invalid_field")
    return params


async def _own_phone(request: web.Request, principal: Principal) -> str:
    if principal.agent_id is None:
        raise BadRequest("this token belongs to no agent: say where to put the call through", code="no_phone")
    async with request.config_dict[DATABASE].reader.connect() as conn:
        phone = await agent_phone(conn, uuid.UUID(principal.agent_id))
    if not phone:
        raise BadRequest("your agent profile has no phone or client to put calls through to", code="no_phone")
    return phone


async def _target(request: web.Request, principal: Principal, asked: Any) -> str:
    """Where a call is put through: the caller's own phone; another only for supervisors and admins (an
    agent must not bridge customers, at our cost, to any number they like)."""
    if not asked:
        return await _own_phone(request, principal)
    if not isinstance(asked, str):
        raise BadRequest("the phone to put the call through to must be a string", code="invalid_field")
    if principal.role not in SUPERVISORS:
        own = await _own_phone(request, principal)
        if asked != own:
            raise Forbidden("agents put calls through to their own phone only", code="not_your_phone")
    return asked


async def _audit(
    request: web.Request,
    principal: Principal,
    action: str,
    kind: str,
    subject: uuid.UUID,
    detail: dict[str, Any],
) -> None:
    async with request.config_dict[DATABASE].writer.begin() as conn:
        await audit(
            conn,
            actor=principal.actor,
            action=action,
            subject_type=kind,
            subject_id=subject,
            detail=detail,
            now=utcnow(),
        )


async def conversation_call_action(request: web.Request) -> web.Response:
    """Act on the conversation's live call: ``connect`` it to an agent (you, by default) or pause/resume
    its ``recording``."""
    principal = require_role(request, *PEOPLE)
    conversation_id = path_id(request)
    body = await json_body(request)
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise BadRequest("action is required", code="invalid_field")
    params = _params(body)
    async with request.config_dict[DATABASE].reader.connect() as conn:
        conversation = await get_conversation(conn, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        try:
            target = await reply_target(conn, conversation_id)
        except NotFoundError as err:
            raise NotFound(str(err)) from err
    if action == "connect":
        params["to"] = await _target(request, principal, params.get("to"))
    channel = _channel(request, conversation.channel)
    recipient = ExternalIdentity(conversation.channel, conversation.account, target.recipient or "")
    result = await channel.control(
        action, recipient=recipient, thread_key=conversation.thread_key, params=params
    )
    await _audit(request, principal, f"call.{action}", "conversation", conversation_id, {"params": params})
    return respond({"action": action, "result": dict(result)})


async def contact_call(request: web.Request) -> web.Response:
    """Click to call: the phone rings the agent first, then puts them through to the contact."""
    principal = require_role(request, *PEOPLE)
    contact_id = path_id(request)
    body = await json_body(request)
    wanted = optional_body_id(body, "identity_id")
    async with request.config_dict[DATABASE].reader.connect() as conn:
        try:
            numbers = await numbers_of(conn, contact_id, wanted)
        except NotFoundError as err:
            raise NotFound(str(err)) from err
    to = body.get("to")
    if to is not None and to not in numbers.numbers:
        raise BadRequest("to must be one of the contact's numbers", code="invalid_field")
    if not numbers.numbers:
        raise BadRequest("the contact has no phone number to call", code="no_number")
    number = to or numbers.numbers[0]
    agent = await _target(request, principal, body.get("agent"))
    channel = _channel(request, PHONE_CHANNEL)
    # From the number the customer called us on, else the channel's default line.
    recipient = ExternalIdentity(PHONE_CHANNEL, numbers.lines.get(number, DEFAULT_LINE), number)
    result = await channel.control("call", recipient=recipient, params={"agent": agent})
    await _audit(request, principal, "call.placed", "contact", contact_id, {"to": number, "agent": agent})
    return respond({"to": number, "result": dict(result)}, status=202)


def call_routes() -> list[web.RouteDef]:
    """The phone's REST routes."""
    return [
        web.post("/conversations/{id}/call-actions", conversation_call_action),
        web.post("/contacts/{id}/calls", contact_call),
    ]
