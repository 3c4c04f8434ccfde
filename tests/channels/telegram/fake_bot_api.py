"""A small fake of the Telegram Bot API on 127.0.0.1, for driving python-telegram-bot's real ``Bot``.

Speaks the documented wire format (https://core.telegram.org/bots/api#making-requests): methods at
``/bot<token>/<method>`` (names case-insensitive), parameters as a query string, form, multipart or JSON
body, answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`` with the error code as the HTTP status; files at
``/file/bot<token>/<file_path>``.

Use::

    async with FakeBotApi() as fake:             # or: await fake.start() ... await fake.stop()
        bot = Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        await fake.queue_update({"update_id": 1, "message": {...}})   # served by getUpdates
        fake.add_file("file-1", b"...", file_path="photos/file_1.jpg")
        fake.requests                                # every request, in order (RecordedRequest)
        fake.calls("sendMessage")                    # the requests of one method
        await fake.wait_for("getUpdates", lambda r: r.params.get("offset") == "8")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import BodyPartReader, web

__all__ = ["DEFAULT_TOKEN", "FakeBotApi", "FakeFile", "RecordedRequest"]

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"

# Canonical method names, looked up case-insensitively as the Bot API does.
_METHODS = (
    "getMe",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "answerCallbackQuery",
    "getFile",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
)
_CANONICAL = {name.lower(): name for name in _METHODS}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received: canonical method, parameters (form values stay strings), files."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    content_type: str = ""

    def json_param(self, name: str) -> Any:
        """A parameter PTB sent JSON-encoded inside a form (``reply_parameters``, ``allowed_updates``)."""
        value = self.params[name]
        return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class FakeFile:
    """A file ``getFile`` knows, served at ``/file/bot<token>/<file_path>``."""

    content: bytes
    file_path: str
    declared_size: int | None
    chunked: bool = False
    served: bool = True


@dataclass(frozen=True, slots=True)
class _Error:
    error_code: int
    description: str
    retry_after: int | None


class FakeBotApi:
    """The fake server: start/stop (or ``async with``), ``.requests``, queued errors and updates."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.requests: list[RecordedRequest] = []
        self.files: dict[str, FakeFile] = {}
        self.file_downloads: list[str] = []
        self._errors: dict[str, list[_Error]] = {}
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._message_ids = itertools.count(1001)
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp app, for ``aiohttp_server(fake.make_app())`` when a test prefers that."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        self._runner = web.AppRunner(self.make_app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening; ends any long poll first."""
        self._stopping = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """What ``SWITCHBOARD_TELEGRAM_API_BASE`` should be set to."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.api_base}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_base}/file/bot"

    # -- what a test sets up -----------------------------------------------------------------------

    def fail_next(
        self, method: str, error_code: int, description: str, *, retry_after: int | None = None
    ) -> None:
        """The next call of ``method`` answers this error (queued: several calls fail in turn)."""
        self._errors.setdefault(method.lower(), []).append(_Error(error_code, description, retry_after))

    async def queue_update(self, update: dict[str, Any]) -> None:
        """An update ``getUpdates`` serves until an ``offset`` past its ``update_id`` confirms it."""
        self._updates.append(update)
        await self._notify()

    def add_file(
        self,
        file_id: str,
        content: bytes,
        *,
        file_path: str | None = None,
        declared_size: int | None = -1,
        chunked: bool = False,
        served: bool = True,
    ) -> None:
        """A file for getFile/download.

        ``declared_size`` -1 means its real size, None omits it; ``chunked`` streams it without a
        Content-Length; ``served=False`` makes the download answer 404 (an expired file path).
        """
        size = len(content) if declared_size == -1 else declared_size
        path = file_path or f"documents/{file_id}"
        self.files[file_id] = FakeFile(content, path, size, chunked, served)

    def calls(self, method: str) -> list[RecordedRequest]:
        """The recorded requests of one method (canonical name, e.g. ``sendMessage``)."""
        return [r for r in self.requests if r.method == method]

    async def wait_for(
        self, method: str, predicate: Callable[[RecordedRequest], bool] = lambda _r: True
    ) -> RecordedRequest:
        """Wait (no sleeping) until a request of ``method`` matching ``predicate`` has arrived."""
        async with self._changed:
            while True:
                for request in self.calls(method):
                    if predicate(request):
                        return request
                await self._changed.wait()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the wire --------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(_Error(401, "Unauthorized", None))
        name = request.match_info["method"]
        method = _CANONICAL.get(name.lower(), name)
        params, files = await _read_params(request)
        self.requests.append(RecordedRequest(method, params, files, request.content_type))
        await self._notify()
        queued = self._errors.get(method.lower())
        if queued:
            return _error(queued.pop(0))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(_Error(404, "Not Found", None))
        result: Any = await handler(params, files)
        if isinstance(result, _Error):
            return _error(result)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(_Error(401, "Unauthorized", None))
        path = request.match_info["path"]
        self.file_downloads.append(path)
        found = next((f for f in self.files.values() if f.file_path == path and f.served), None)
        if found is None:
            return _error(_Error(404, "Not Found", None))
        if not found.chunked:
            return web.Response(body=found.content, content_type="application/octet-stream")
        response = web.StreamResponse()
        response.content_type = "application/octet-stream"
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(found.content), 1024):
            await response.write(found.content[start : start + 1024])
        await response.write_eof()
        return response

    # -- methods (https://core.telegram.org/bots/api#available-methods) ----------------------------

    async def _api_getMe(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Switchboard Test",
            "username": "switchboard_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "date": 1_764_000_000,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "x"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Switchboard Test"},
            **content,
        }

    async def _api_sendMessage(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        if not params.get("text"):
            return _Error(400, "Bad Request: message text is empty", None)
        return self._message(params, text=params["text"])

    async def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = {"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1}
        return self._message(params, photo=[photo], caption=params.get("caption"))

    async def _api_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        document = {"file_id": "sent-document", "file_unique_id": "sd"}
        return self._message(params, document=document, caption=params.get("caption"))

    async def _api_answerCallbackQuery(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _api_deleteWebhook(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _api_setWebhook(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _api_getFile(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        found = self.files.get(str(params.get("file_id")))
        if found is None:
            return _Error(400, "Bad Request: invalid file_id", None)
        result: dict[str, Any] = {
            "file_id": params["file_id"],
            "file_unique_id": f"u-{params['file_id']}",
            "file_path": found.file_path,
        }
        if found.declared_size is not None:
            result["file_size"] = found.declared_size
        return result

    async def _api_getUpdates(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        offset = int(params.get("offset", 0))
        # An offset confirms every update before it: Telegram forgets them.
        self._updates = [u for u in self._updates if u.get("update_id", offset) >= offset]
        # A long poll: answer as soon as there is something, or when the timeout runs out.
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: bool(self._updates) or self._stopping),
                    float(params.get("timeout", 0)),
                )
        limit = int(params.get("limit", 100))
        return self._updates[:limit]


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        body = await request.read()
        if body:
            params.update(json.loads(body))
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = await part.read()
            else:
                params[part.name] = await part.text()
    elif request.can_read_body:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params, files


def _error(error: _Error) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.error_code, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return web.json_response(body, status=error.error_code)
