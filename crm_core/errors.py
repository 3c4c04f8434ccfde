"""The CRM core's errors; each names a stable code the API can answer with."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Conflict", "ContactNotFound", "CrmError", "MergeRefused", "NotFoundError"]


class CrmError(Exception):
    """Base of every error the CRM core raises on purpose."""

    code: ClassVar[str] = "crm_error"


class ContactNotFound(CrmError):
    """No contact has the given id."""

    code: ClassVar[str] = "contact_not_found"


class MergeRefused(CrmError):
    """The merge asked for would lose or corrupt data (self-merge, already merged contact)."""

    code: ClassVar[str] = "merge_refused"


class Conflict(CrmError):
    """The record would duplicate one that must be unique (an agent's email)."""

    code: ClassVar[str] = "conflict"


class NotFoundError(CrmError):
    """No record has the given id (a conversation, an identity, a dead reply)."""

    code: ClassVar[str] = "not_found"
