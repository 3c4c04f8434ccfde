"""Outbound messages through twilio-python's async client, and media downloads with the account's credentials.

The client itself, its API base and its error mapping are the Twilio channels' shared ``channels._twilio``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from channels._twilio.client import TwilioClient
from channels.twilio_sms.parse import split_address
from hub.errors import PermanentSendError
from hub.messages import OutboundMessage, SendResult

__all__ = ["TwilioSmsClient", "message_params"]


def _sender(message: OutboundMessage, default_from: str | None, service_sid: str | None) -> dict[str, str]:
    """From our number the customer wrote to (``recipient.account``), or its Messaging Service; else the
    configured sender (the account is the Account SID when the inbound webhook named neither).

    A WhatsApp recipient (``whatsapp:+…``) must be answered from ``whatsapp:<our number>``.
    """
    prefix = split_address(message.recipient.external_id)[0]
    account = message.recipient.account
    if account.startswith("MG"):
        return {"messaging_service_sid": account}
    if not account.startswith("AC"):  # a number or short code of ours, not the account-SID fallback
        return {"from_": prefix + account}
    if default_from:
        return {"from_": prefix + split_address(default_from)[1]}
    if service_sid:
        return {"messaging_service_sid": service_sid}
    raise PermanentSendError(
        "no sender: set SWITCHBOARD_TWILIO_FROM or SWITCHBOARD_TWILIO_MESSAGING_SERVICE_SID",
        code="no_sender",
    )


def _template(template: Mapping[str, Any]) -> dict[str, str]:
    """``{"content_sid", "variables"}`` as Twilio's ``ContentSid`` + ``ContentVariables`` (JSON)."""
    content_sid = template.get("content_sid")
    variables = template.get("variables")
    if not isinstance(content_sid, str) or not content_sid:
        raise PermanentSendError("a Twilio template needs a content_sid", code="bad_template")
    if variables is not None and not isinstance(variables, Mapping):
        raise PermanentSendError("template variables must be an object", code="bad_template")
    params = {"content_sid": content_sid}
    if variables:
        params["content_variables"] = json.dumps({str(k): str(v) for k, v in variables.items()})
    return params


def message_params(
    message: OutboundMessage,
    *,
    default_from: str | None,
    service_sid: str | None,
    status_callback: str | None,
) -> dict[str, Any]:
    """Keyword arguments of ``messages.create_async`` for one reply."""
    params: dict[str, Any] = {"to": message.recipient.external_id}
    params.update(_sender(message, default_from, service_sid))
    if message.template is not None:
        params.update(_template(message.template))
    if message.text:
        params["body"] = message.text
    if message.attachments:
        if any(not a.url for a in message.attachments):
            raise PermanentSendError("Twilio sends media by public URL only", code="attachment_without_url")
        params["media_url"] = [a.url for a in message.attachments]
    if not {"body", "media_url", "content_sid"} & params.keys():
        raise PermanentSendError("nothing to send: no text, media or template", code="empty_message")
    if status_callback:
        params["status_callback"] = status_callback
    return params


class TwilioSmsClient(TwilioClient):
    """Sends messages and downloads media (``MediaUrl{N}``) for one Twilio account."""

    async def create_message(self, params: Mapping[str, Any]) -> SendResult:
        """``POST …/Messages.json``; errors mapped to Temporary/Permanent/OutsideServiceWindow."""
        created = await self.call(lambda client: client.messages.create_async(**params))
        return SendResult(external_message_id=str(created.sid))
