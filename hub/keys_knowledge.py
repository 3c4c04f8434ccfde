"""App keys of the model-backed parts, apart from hub.keys so that reading them never imports torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.kb import KnowledgeService
    from hub.suggest import Suggester

__all__ = ["KNOWLEDGE", "SUGGESTER"]

KNOWLEDGE: web.AppKey[KnowledgeService] = web.AppKey("knowledge")
SUGGESTER: web.AppKey[Suggester] = web.AppKey("suggester")
