"""A Twilio webhook as aiohttp received it: the URL Twilio signed, and its signature checked."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiMapping

from channels._twilio.const import FORWARDED_PROTO_HEADER, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER
from channels._twilio.settings import TwilioCredentials
from channels._twilio.signature import signed_url, verify_signature

__all__ = ["request_url", "verify_request"]


def request_url(request: web.Request, public_url: str | None, *, path_qs: str | None = None) -> str:
    """The URL Twilio requested (see ``signed_url``); with ``path_qs=""``, our public base URL."""
    return signed_url(
        public_url=public_url,
        scheme=request.scheme,
        host=request.host,
        path_qs=request.raw_path if path_qs is None else path_qs,
        forwarded_proto=request.headers.get(FORWARDED_PROTO_HEADER),
    )


def verify_request(
    request: web.Request, *, url: str, fields: MultiMapping[str] | str, credentials: TwilioCredentials
) -> None:
    """Raise Unauthorized unless the request's ``X-Twilio-Signature`` signs ``url`` and ``fields``."""
    verify_signature(
        url=url,
        fields=fields,
        signature=request.headers.get(SIGNATURE_HEADER),
        settings_header=request.headers.get(SIGNATURE_SETTINGS_HEADER),
        auth_token=credentials.auth_token,
        shared_key=credentials.webhook_shared_key,
    )
