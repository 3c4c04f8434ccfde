"""A small fake of an OpenAI-compatible chat-completions server on 127.0.0.1, for driving the real client.

Speaks the wire format vLLM, Ollama and llama.cpp's server share: ``POST /v1/chat/completions`` with a JSON
body (``model``, ``messages``, ...) answered by ``{"id", "object": "chat.completion", "created", "model",
"choices": [{"index", "message": {"role": "assistant", "content"}, "finish_reason"}], "usage"}``.
It answers a canned completion, and can instead answer an HTTP error, hang past the client's timeout,
send a body that is not JSON, or JSON without ``choices``. It does not pretend to be a model.

Use::

    async with FakeLLM() as fake:
        client = ChatCompletionsClient(fake.base_url, "fake-model")
        fake.answer("You can cancel in the app [1].")
        fake.fail(500) / fake.hang() / fake.malformed() / fake.no_choices()
        fake.requests          # every request, in order (RecordedRequest: path, headers, body)
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any, Literal, Self

from aiohttp import web

__all__ = ["FakeLLM", "RecordedRequest"]

Mode = Literal["answer", "fail", "hang", "malformed", "no_choices"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received: its path, headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        """The chat messages of the request."""
        messages: list[dict[str, str]] = self.body["messages"]
        return messages

    def content_of(self, role: str) -> str:
        """The content of the (first) message with ``role``."""
        return next(m["content"] for m in self.messages if m["role"] == role)


class FakeLLM:
    """The fake server: start/stop (or ``async with``), ``.requests``, and what the next answers are."""

    def __init__(self, *, model_name: str = "fake-served-model") -> None:
        self.model_name = model_name
        self.requests: list[RecordedRequest] = []
        self.mode: Mode = "answer"
        self.content = "The answer is in the passage [1]."
        self.status = 500
        self._ids = itertools.count(1)
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening; a hanging request is let go first."""
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What ``SWITCHBOARD_LLM_BASE_URL`` would be: the part before ``/chat/completions``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- what a test sets up -----------------------------------------------------------------------

    def answer(self, content: str) -> None:
        """Answer every request with this completion text."""
        self.mode, self.content = "answer", content

    def fail(self, status: int = 500) -> None:
        """Answer every request with this HTTP error status and an OpenAI-style error body."""
        self.mode, self.status = "fail", status

    def hang(self) -> None:
        """Never answer (until the fake stops): the client's timeout has to end the request."""
        self.mode = "hang"

    def malformed(self) -> None:
        """Answer 200 with a body that is not JSON."""
        self.mode = "malformed"

    def no_choices(self) -> None:
        """Answer 200 with JSON that has no ``choices``."""
        self.mode = "no_choices"

    # -- the wire --------------------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body))
        if self.mode == "hang":
            await self._release.wait()
            return web.Response(status=503)
        if self.mode == "fail":
            error = {"error": {"message": "the fake was told to fail", "type": "server_error"}}
            return web.json_response(error, status=self.status)
        if self.mode == "malformed":
            return web.Response(text='{"choices": [{"message": ', content_type="application/json")
        if self.mode == "no_choices":
            return web.json_response({"id": "x", "object": "chat.completion", "model": self.model_name})
        return web.json_response(self._completion(body))

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(self.content.split()),
                "total_tokens": prompt_tokens + len(self.content.split()),
            },
        }
