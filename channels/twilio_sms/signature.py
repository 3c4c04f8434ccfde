"""X-Twilio-Signature on messaging webhooks: form bodies, and JSON bodies signed with ``bodySHA256``. Pure.

Twilio signs JSON bodies over a URL that carries ``bodySHA256`` instead of the fields; the check itself
(``form_fields``, ``signed_url``, the HMAC) is the Twilio channels' shared ``channels._twilio.signature``.
https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from multidict import MultiDict

from channels._twilio.signature import form_fields
from channels._twilio.signature import verify_signature as verify_fields
from channels.twilio_sms.const import BODY_HASH_PARAM

__all__ = ["is_json_signed", "signed_fields", "verify_signature"]


def is_json_signed(url: str) -> bool:
    """Whether Twilio signed this request as a JSON body (the URL carries ``bodySHA256``)."""
    return BODY_HASH_PARAM in parse_qs(urlsplit(url).query)


def signed_fields(url: str, body: bytes) -> MultiDict[str] | str:
    """What Twilio signed along with ``url``: the form fields, or a JSON body's text."""
    return body.decode("utf-8", errors="replace") if is_json_signed(url) else form_fields(body)


def verify_signature(
    *,
    url: str,
    body: bytes,
    signature: str | None,
    settings_header: str | None,
    auth_token: str,
    shared_key: str | None = None,
) -> None:
    """Raise Unauthorized unless ``signature`` is Twilio's signature of this form or JSON ``body``.

    The adapter checks the same through ``channels._twilio.webhook.verify_request`` with ``signed_fields``.
    """
    verify_fields(
        url=url,
        fields=signed_fields(url, body),
        signature=signature,
        settings_header=settings_header,
        auth_token=auth_token,
        shared_key=shared_key,
    )
