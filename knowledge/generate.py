"""The optional generator: an OpenAI-compatible chat-completions client that answers from numbered passages.

vLLM, Ollama and llama.cpp's server all speak ``POST {base_url}/chat/completions``. The prompt allows only
the numbered passages, asks for the customer's language and for citations like [1]; an answer that cites
none of them, an error or a timeout raises :class:`GenerationError`, and :func:`answer_with_fallback` then
gives the extractive reply instead. Whether to answer at all is decided before this (see ``bot.py``):
retrieval gating and citations live in our code, not in the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp

from .bot import Evidence
from .errors import KnowledgeError
from .replies import CustomerDetails, DraftReply, draft_reply

__all__ = [
    "LANGUAGE_NAMES",
    "NO_ANSWER",
    "Answer",
    "ChatCompletionsClient",
    "GeneratedReply",
    "GenerationError",
    "answer_with_fallback",
    "build_messages",
    "parse_citations",
    "strip_citations",
]

NO_ANSWER = "NO_ANSWER"  # what the prompt tells the model to say when the passages do not answer
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "he": "Hebrew", "fa": "Persian", "ar": "Arabic"}
MAX_PASSAGES = 4
_CITATION = re.compile(r"\[(\d+(?:\s*[,،]\s*\d+)*)\]")


class GenerationError(KnowledgeError):
    """The generator gave no usable answer: an error, a timeout, a malformed reply or no citation."""


@dataclass(frozen=True, slots=True)
class GeneratedReply:
    """An answer written by the model, the articles it cites (slugs, in order) and the model's name."""

    text: str
    cited: tuple[str, ...]
    model: str


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply from either path: ``generated`` by the model or the ``extractive`` fallback."""

    text: str
    cited: tuple[str, ...]
    path: Literal["generated", "extractive"]
    model: str | None  # the generator's model; None for the extractive path
    error: str | None = None  # why generation failed, when the extractive path stood in
    draft: DraftReply | None = None  # the extractive draft, on that path

    @property
    def customer_text(self) -> str:
        """The text without citation markers, for sending to a customer."""
        return strip_citations(self.text)


def _system_prompt(language: str, customer_name: str | None) -> str:
    name = LANGUAGE_NAMES.get(language, language)
    lines = [
        "You are a customer-service assistant. Answer the customer's question using ONLY the numbered "
        "passages below.",
        "- Use only facts stated in the passages; never add facts, prices, dates or steps of your own.",
        "- Cite each passage you use by its number in square brackets, like [1] or [2].",
        f"- If the passages do not answer the question, reply with exactly {NO_ANSWER}.",
        f"- Write in {name}, even where the passages are in another language.",
        "- Be brief and friendly: at most four sentences.",
    ]
    if customer_name:
        lines.append(f"- The customer's name is {customer_name}; you may greet them by it.")
    return "\n".join(lines)


def build_messages(
    question: str, evidence: Sequence[Evidence], *, language: str, customer_name: str | None = None
) -> list[dict[str, str]]:
    """The chat messages: rules and numbered passages as the system message, the question as the user's."""
    passages = "\n\n".join(
        f"[{number}] {item.title}\n{item.passage.strip()}" for number, item in enumerate(evidence, start=1)
    )
    system = f"{_system_prompt(language, customer_name)}\n\nPassages:\n\n{passages}"
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def parse_citations(text: str, evidence: Sequence[Evidence]) -> tuple[str, ...]:
    """The slugs of the passages ``text`` cites as [n] (or [1, 2]), in order, once each; unknown n ignored."""
    cited: dict[str, None] = {}
    for group in _CITATION.findall(text):
        for number in re.split(r"\s*[,،]\s*", group):
            index = int(number) - 1
            if 0 <= index < len(evidence):
                cited[evidence[index].slug] = None
    return tuple(cited)


def strip_citations(text: str) -> str:
    """``text`` without its [n] markers and the spaces they leave."""
    stripped = _CITATION.sub("", text)
    return re.sub(r"[ \t]+([.,!?;:،؟])", r"\1", re.sub(r"[ \t]{2,}", " ", stripped)).strip()


class ChatCompletionsClient:
    """A client of ``POST {base_url}/chat/completions``; use ``async with`` or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        max_tokens: int = 400,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """``base_url`` ends before ``/chat/completions`` (``http://host:8000/v1``); timeout in seconds."""
        if timeout <= 0 or max_tokens < 1:
            raise ValueError("timeout must be > 0 and max_tokens >= 1")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    async def complete(self, messages: Sequence[Mapping[str, str]]) -> tuple[str, str]:
        """The first choice's content and the model that wrote it; GenerationError on any failure."""
        body = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "temperature": 0.0,  # the same passages should give the same answer
            "max_tokens": self.max_tokens,
            "stream": False,
        }
        try:
            post = self._client().post(self.url, json=body, headers=self._headers, timeout=self._timeout)
            async with post as response:
                if response.status >= 400:
                    detail = (await response.text())[:200]
                    raise GenerationError(f"the generator answered HTTP {response.status}: {detail}")
                data = await response.json(content_type=None)
        except TimeoutError as err:
            raise GenerationError(f"the generator did not answer within {self._timeout.total} s") from err
        except aiohttp.ClientError as err:
            raise GenerationError(f"could not reach the generator: {err}") from err
        except ValueError as err:  # the body was not JSON
            raise GenerationError("the generator's answer is not JSON") from err
        return _content(data), str(data.get("model") or self.model)

    async def generate_reply(
        self,
        question: str,
        evidence: Sequence[Evidence],
        *,
        language: str,
        customer_name: str | None = None,
    ) -> GeneratedReply:
        """An answer to ``question`` from the top passages of ``evidence`` citing them, or GenerationError."""
        passages = list(evidence[:MAX_PASSAGES])
        if not passages:
            raise GenerationError("there are no passages to answer from")
        messages = build_messages(question, passages, language=language, customer_name=customer_name)
        content, model = await self.complete(messages)
        text = content.strip()
        if not text or text.strip(" .") == NO_ANSWER:
            raise GenerationError("the generator found no answer in the passages")
        cited = parse_citations(text, passages)
        if not cited:
            raise GenerationError("the generator's answer cites none of the passages")
        return GeneratedReply(text=text, cited=cited, model=model)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Made on first use, inside the running loop, as aiohttp wants.
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the HTTP session, if this client made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Self:
        """Use as ``async with ChatCompletionsClient(...) as client``; closes on exit."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the session."""
        await self.close()


def _content(data: Any) -> str:
    """``choices[0].message.content`` of a chat-completions answer; GenerationError if it has none."""
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as err:
        raise GenerationError("the generator's answer has no choices[0].message.content") from err
    if not isinstance(content, str):
        raise GenerationError("the generator's message content is not text")
    return content


async def answer_with_fallback(
    client: ChatCompletionsClient | None,
    question: str,
    evidence: Sequence[Evidence],
    *,
    language: str,
    customer: CustomerDetails | None = None,
    sms: bool = False,
) -> Answer:
    """The generated answer; the extractive reply from the best evidence when generation fails or is off."""
    if not evidence:
        raise ValueError("an answer needs evidence; hand the conversation over instead")
    # Best first, as the bot ranks it, so the extractive reply comes from the article the bot cited.
    evidence = sorted(evidence, key=lambda item: item.score, reverse=True)
    error: str | None = None
    if client is not None:
        try:
            generated = await client.generate_reply(
                question, evidence, language=language, customer_name=customer.name if customer else None
            )
        except GenerationError as err:
            error = str(err)
        else:
            return Answer(generated.text, generated.cited, "generated", generated.model)
    draft = draft_reply(evidence[0], customer, sms=sms)
    return Answer(draft.text, (draft.article_slug,), "extractive", None, error=error, draft=draft)
