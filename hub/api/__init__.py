"""The REST API under /api/v1 (documented by /api/v1/openapi.json)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from aiohttp import web

from hub.api.admin import admin_routes
from hub.api.auth import TOKEN_CACHE, TokenCache, auth_middleware
from hub.api.calls import call_routes
from hub.api.knowledge import knowledge_routes
from hub.api.messaging import messaging_routes
from hub.api.resources import routes
from hub.api.session import SIGN_IN_GUARD, SignInGuard, session_routes
from hub.api.work import work_routes
from hub.keys import DATABASE

__all__ = ["api_app"]


def _openapi_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    # Read once when the app is built, not from disk on the event loop at every request.
    body = files("hub.api").joinpath("openapi.json").read_bytes()

    async def openapi(_request: web.Request) -> web.Response:
        """The OpenAPI description of this API."""
        return web.Response(body=body, content_type="application/json")

    return openapi


def api_app(parent: web.Application) -> web.Application:
    """The /api/v1 sub-application; handlers reach the parent's state through request.config_dict."""
    app = web.Application(middlewares=[auth_middleware])
    app[TOKEN_CACHE] = TokenCache(parent[DATABASE])
    app[SIGN_IN_GUARD] = SignInGuard()
    app.router.add_get("/openapi.json", _openapi_handler())
    app.router.add_routes(routes())
    app.router.add_routes(messaging_routes())
    app.router.add_routes(knowledge_routes())
    app.router.add_routes(session_routes())
    app.router.add_routes(work_routes())
    app.router.add_routes(admin_routes())
    app.router.add_routes(call_routes())
    return app
