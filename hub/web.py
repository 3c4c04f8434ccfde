"""HTTP plumbing shared by every route: JSON errors, health, readiness, metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hub.errors import SwitchboardError
from hub.keys import BUS, DATABASE, METRICS

__all__ = ["error_middleware", "health_routes", "json_error"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, code: str, detail: str, **extra: Any) -> web.Response:
    """The one error shape: ``{"error": code, "detail": ...}``."""
    return web.json_response({"error": code, "detail": detail, **extra}, status=status)


def _webhook_channel(path: str) -> str | None:
    if not path.startswith("/webhooks/"):
        return None
    return path.split("/", 3)[2] or None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn errors into JSON bodies with a stable code; count refused webhooks."""
    try:
        return await handler(request)
    except SwitchboardError as err:
        channel = _webhook_channel(request.path)
        if channel is not None and err.status < 500:
            request.app[METRICS].webhook_rejected.labels(channel, err.code).inc()
        if err.status >= 500:
            log.warning("%s %s answered %d: %s", request.method, request.path, err.status, err.detail)
        return json_error(err.status, err.code, err.detail)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        return json_error(err.status, _HTTP_CODES.get(err.status, "http_error"), err.reason)
    except Exception:  # task boundary: one request must never take the server down
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal_error", "the server failed to handle this request")


async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database and the bus answer."""
    problems: dict[str, str] = {}
    try:
        async with request.app[DATABASE].reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001  (reported in the answer)
        problems["database"] = type(err).__name__
    try:
        await request.app[BUS].ping()
    except Exception as err:  # noqa: BLE001  (reported in the answer)
        problems["bus"] = type(err).__name__
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def health_routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
