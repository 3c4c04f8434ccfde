"""X-Twilio-Signature on voice webhooks: which URL Twilio signed, and whether the signature matches. Pure.

Twilio signs the full URL it requested (query string included) followed by every POST field, sorted; the
check runs over whatever fields arrived. https://www.twilio.com/docs/usage/webhooks/webhooks-security
Voice webhooks are always form bodies, so the JSON (``bodySHA256``) variant is not accepted here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from multidict import MultiDict
from twilio.request_validator import (  # type: ignore[import-untyped]
    HMAC_SHA1,
    RequestValidator,
    get_signature_algorithm,
)

from hub.errors import Unauthorized

__all__ = ["form_fields", "request_url", "verify_signature"]


def form_fields(body: bytes) -> MultiDict[str]:
    """Every field of a form body in order, repeated and empty ones kept (Twilio signs them)."""
    return MultiDict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def request_url(
    *, public_url: str | None, scheme: str, host: str, path_qs: str, forwarded_proto: str | None
) -> str:
    """The URL Twilio requested: ``public_url`` + path when set, else this request's URL as proxies say."""
    if public_url:
        return public_url.rstrip("/") + path_qs
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return f"{proto if proto in ('http', 'https') else scheme}://{host}{path_qs}"


def verify_signature(
    *,
    url: str,
    fields: MultiDict[str],
    signature: str | None,
    settings_header: str | None,
    auth_token: str,
    shared_key: str | None = None,
) -> None:
    """Raise Unauthorized unless ``signature`` is Twilio's signature of ``url`` and ``fields``.

    With ``X-Twilio-Webhooks-Signature-Settings`` the key is the webhook SharedKey secret and the HMAC
    SHA-256; without it the Auth Token and SHA-1. twilio-python's RequestValidator tries the URL with and
    without its port, as Twilio signs either.
    """
    if not signature:
        raise Unauthorized("missing X-Twilio-Signature header", code="missing_signature")
    key, algorithm = auth_token, HMAC_SHA1
    if settings_header:
        if not shared_key:
            raise Unauthorized(
                "request is signed with a webhook SharedKey, "
                "but SWITCHBOARD_TWILIO_WEBHOOK_SHARED_KEY is not set",
                code="bad_signature",
            )
        key, algorithm = shared_key, get_signature_algorithm(settings_header)
    if not RequestValidator(key).validate(url, fields, signature.strip(), algorithm):
        raise Unauthorized("X-Twilio-Signature does not match this request", code="bad_signature")
