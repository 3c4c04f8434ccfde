"""The errors the knowledge package raises; the hub maps them onto its own taxonomy."""

from __future__ import annotations

__all__ = ["BatcherClosedError", "KnowledgeError", "ModelFormatError", "ModelIntegrityError"]


class KnowledgeError(Exception):
    """Base of every error raised by the knowledge package."""


class ModelFormatError(KnowledgeError):
    """A model file is not in the format we can read."""


class ModelIntegrityError(KnowledgeError):
    """A packaged model file does not have the sha256 we pinned: the supplier changed it."""


class BatcherClosedError(KnowledgeError):
    """The micro-batcher was closed before it could answer this request."""
