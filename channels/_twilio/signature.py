"""X-Twilio-Signature: which URL Twilio signed, and whether the signature matches. Pure: no I/O.

Twilio signs the full URL it requested (query string included) followed by every POST field, sorted,
repeated ones too, so the check runs over whatever fields arrived, never a fixed list; JSON bodies are signed
over a URL that carries ``bodySHA256`` instead. https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from multidict import MultiDict, MultiMapping
from twilio.request_validator import (  # type: ignore[import-untyped]
    HMAC_SHA1,
    RequestValidator,
    get_signature_algorithm,
)

from hub.errors import Unauthorized

__all__ = ["form_fields", "signed_url", "verify_signature"]


def form_fields(body: bytes) -> MultiDict[str]:
    """Every field of a form body in order, repeated ones included, empty values kept (Twilio signs them)."""
    return MultiDict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def signed_url(
    *, public_url: str | None, scheme: str, host: str, path_qs: str, forwarded_proto: str | None
) -> str:
    """The URL Twilio requested: ``public_url`` + path when set, else this request's URL as the proxy saw it.

    Behind a TLS-terminating proxy the hub sees ``http``; the proxy's ``X-Forwarded-Proto`` says what Twilio
    used. ``path_qs`` is the raw path and query string, exactly as received.
    """
    if public_url:
        return public_url.rstrip("/") + path_qs
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return f"{proto if proto in ('http', 'https') else scheme}://{host}{path_qs}"


def verify_signature(
    *,
    url: str,
    fields: MultiMapping[str] | str,
    signature: str | None,
    settings_header: str | None,
    auth_token: str,
    shared_key: str | None = None,
) -> None:
    """Raise Unauthorized unless ``signature`` is Twilio's signature of ``url`` and ``fields``.

    ``fields`` are the form fields; for a body Twilio signed as JSON (``bodySHA256`` in the URL), the body's
    text. Without ``X-Twilio-Webhooks-Signature-Settings`` the key is the Auth Token and the HMAC is SHA-1;
    with it (``key=<id>,algorithm=HMAC_SHA256``) the key is the webhook SharedKey secret. twilio-python's own
    RequestValidator does the rest: URL with and without the port, and the JSON ``bodySHA256`` check.
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
