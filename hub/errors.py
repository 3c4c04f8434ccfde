"""The hub's error taxonomy. A leaf module: standard library only.

Channels and the hub raise these (``raise ... from err``); the HTTP layer turns them into
``{"error": code, "detail": ...}`` with the class's status.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "MediaUnavailable",
    "NotFound",
    "OutsideServiceWindow",
    "PermanentSendError",
    "SwitchboardError",
    "TemporarySendError",
    "Unauthorized",
]


class SwitchboardError(Exception):
    """Base of every error the hub raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class ConfigError(SwitchboardError):
    """A setting is missing or malformed; the hub refuses to start."""

    code = "bad_setting"

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class BadRequest(SwitchboardError):
    """The request's body or parameters are malformed."""

    status = 400
    code = "bad_request"


class Unauthorized(SwitchboardError):
    """Missing or wrong credentials or signature."""

    status = 401
    code = "unauthorized"


class Forbidden(SwitchboardError):
    """Authenticated, but the role may not do this."""

    status = 403
    code = "forbidden"


class NotFound(SwitchboardError):
    """No such resource (or the caller may not know it exists)."""

    status = 404
    code = "not_found"


class Conflict(SwitchboardError):
    """The request contradicts the current state."""

    status = 409
    code = "conflict"


class TemporarySendError(SwitchboardError):
    """A provider refused for now (rate limit, 5xx, timeout): retry, after ``retry_after`` s if given."""

    status = 503
    code = "provider_unavailable"

    def __init__(
        self, detail: str, *, retry_after: float | None = None, provider_code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.provider_code = provider_code


class PermanentSendError(SwitchboardError):
    """A provider refused for good (bad recipient, blocked, ...): do not retry.

    ``provider_code`` is the provider's own error code (Twilio ``21211``, Meta ``131026``, Telegram ``403``).
    """

    status = 422
    code = "provider_rejected"

    def __init__(self, detail: str, *, provider_code: str | None = None, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.provider_code = provider_code


class OutsideServiceWindow(PermanentSendError):
    """A free-form message outside the customer-service window (WhatsApp's 24 hours): send a template."""

    status = 409
    code = "outside_service_window"


class MediaUnavailable(SwitchboardError):
    """A provider's file could not be fetched (expired, too large, refused)."""

    status = 502
    code = "media_unavailable"
