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
    "NotFound",
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
    """A provider refused for now: retry, after ``retry_after`` seconds if given."""

    status = 503
    code = "provider_unavailable"

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PermanentSendError(SwitchboardError):
    """A provider refused for good (bad recipient, window closed, ...): do not retry."""

    status = 422
    code = "provider_rejected"
