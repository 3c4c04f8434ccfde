"""The chat-completions client against a fake server speaking the wire format, and each fallback.

These tests check the HTTP path, the prompt we send and how answers are read; they do not test a model.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from knowledge.bot import Evidence
from knowledge.errors import KnowledgeError
from knowledge.generate import (
    NO_ANSWER,
    ChatCompletionsClient,
    GenerationError,
    answer_with_fallback,
    build_messages,
    parse_citations,
    strip_citations,
)
from knowledge.replies import CustomerDetails, draft_reply
from tests.knowledge.fake_llm import FakeLLM

CANCEL = Evidence(
    slug="cancel-service",
    title="Cancelling a service",
    language="en",
    passage="The service ends within 3 business days of your request, or on a later date you choose.",
    score=0.9,
    dense=0.91,
    short="Cancel in the app, by phone *2255 option 4, or by email. It takes effect within 3 business days.",
)
EQUIPMENT = Evidence(
    slug="equipment-return",
    title="Returning equipment",
    language="en",
    passage="Return the router, mesh units and TV boxes within 30 days. Unreturned equipment is charged.",
    score=0.7,
    dense=0.88,
)
CANCEL_HE = Evidence(
    slug="cancel-service-he",
    title="ביטול שירות",
    language="he",
    passage="השירות מסתיים תוך 3 ימי עסקים מהבקשה, או בתאריך מאוחר יותר שתבחרו.",
    score=0.6,
    dense=0.86,
)
EVIDENCE = [CANCEL, EQUIPMENT, CANCEL_HE]
QUESTION = "how long does it take to cancel, and what about the router?"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as server:
        yield server


@pytest.fixture
async def client(fake: FakeLLM) -> AsyncIterator[ChatCompletionsClient]:
    async with ChatCompletionsClient(fake.base_url, "qwen2.5-1.5b-instruct", timeout=2.0) as c:
        yield c


async def test_request_carries_model_passages_question_and_language(
    fake: FakeLLM, client: ChatCompletionsClient
) -> None:
    fake.answer("It ends within 3 business days [1]; return the router within 30 days [2].")
    await client.generate_reply(QUESTION, EVIDENCE, language="he", customer_name="Dana")

    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "qwen2.5-1.5b-instruct"
    assert request.body["stream"] is False
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.content_of("user") == QUESTION
    system = request.content_of("system")
    for number, item in enumerate(EVIDENCE, start=1):
        assert f"[{number}] {item.title}\n{item.passage}" in system
    assert "Hebrew" in system  # the customer's language, not the passages'
    assert "Dana" in system
    assert NO_ANSWER in system and "ONLY the numbered passages" in system
    assert "Authorization" not in request.headers


async def test_api_key_is_sent_as_a_bearer_token(fake: FakeLLM) -> None:
    async with ChatCompletionsClient(fake.base_url + "/", "m", api_key="sk-local-test") as client:
        await client.generate_reply(QUESTION, [CANCEL], language="en")
    assert fake.requests[0].headers["Authorization"] == "Bearer sk-local-test"
    assert fake.requests[0].path == "/v1/chat/completions"  # a trailing slash on the base URL is fine


async def test_generated_reply_cites_the_passages_it_names(
    fake: FakeLLM, client: ChatCompletionsClient
) -> None:
    fake.answer("Within 3 business days [1]. Return the router within 30 days [2, 1] [9].")
    reply = await client.generate_reply(QUESTION, EVIDENCE, language="en")
    assert reply.cited == ("cancel-service", "equipment-return")  # [9] names no passage
    assert reply.model == "fake-served-model"  # the server's word for its model
    assert reply.text.startswith("Within 3 business days [1].")


async def test_only_the_top_passages_are_sent(fake: FakeLLM, client: ChatCompletionsClient) -> None:
    many = [
        Evidence(f"a-{i}", f"Title {i}", "en", f"Passage number {i}.", 1.0 - i / 10, 0.9) for i in range(6)
    ]
    await client.generate_reply(QUESTION, many, language="en")
    system = fake.requests[0].content_of("system")
    assert "[4] Title 3" in system and "Title 4" not in system


@pytest.mark.parametrize(
    "content",
    ["You can cancel in the app.", NO_ANSWER, f"{NO_ANSWER}.", "   ", "See passage [7]."],
    ids=["no-citation", "no-answer", "no-answer-dot", "blank", "unknown-citation"],
)
async def test_answers_citing_nothing_raise(
    fake: FakeLLM, client: ChatCompletionsClient, content: str
) -> None:
    fake.answer(content)
    with pytest.raises(GenerationError):
        await client.generate_reply(QUESTION, EVIDENCE, language="en")


async def test_server_error_raises(fake: FakeLLM, client: ChatCompletionsClient) -> None:
    fake.fail(500)
    with pytest.raises(GenerationError, match="HTTP 500"):
        await client.generate_reply(QUESTION, EVIDENCE, language="en")


async def test_malformed_json_raises(fake: FakeLLM, client: ChatCompletionsClient) -> None:
    fake.malformed()
    with pytest.raises(GenerationError, match="not JSON"):
        await client.generate_reply(QUESTION, EVIDENCE, language="en")


async def test_json_without_choices_raises(fake: FakeLLM, client: ChatCompletionsClient) -> None:
    fake.no_choices()
    with pytest.raises(GenerationError, match="choices"):
        await client.generate_reply(QUESTION, EVIDENCE, language="en")


async def test_a_hanging_server_times_out(fake: FakeLLM) -> None:
    fake.hang()
    started = time.monotonic()
    async with ChatCompletionsClient(fake.base_url, "m", timeout=0.3) as client:
        with pytest.raises(GenerationError, match="did not answer within"):
            await client.generate_reply(QUESTION, EVIDENCE, language="en")
    assert time.monotonic() - started < 3.0
    assert len(fake.requests) == 1


async def test_an_unreachable_server_raises() -> None:
    fake = FakeLLM()
    await fake.start()
    base_url = fake.base_url
    await fake.stop()  # nothing listens on that port now
    async with ChatCompletionsClient(base_url, "m", timeout=1.0) as client:
        with pytest.raises(GenerationError, match="could not reach"):
            await client.generate_reply(QUESTION, EVIDENCE, language="en")


async def test_no_passages_raise_before_any_request(fake: FakeLLM, client: ChatCompletionsClient) -> None:
    with pytest.raises(GenerationError):
        await client.generate_reply(QUESTION, [], language="en")
    assert fake.requests == []


def test_generation_error_is_a_knowledge_error() -> None:
    assert issubclass(GenerationError, KnowledgeError)


async def test_fallback_takes_the_generated_answer_when_it_cites(
    fake: FakeLLM, client: ChatCompletionsClient
) -> None:
    fake.answer("It takes up to 3 business days [1].")
    answer = await answer_with_fallback(client, QUESTION, EVIDENCE, language="en")
    assert answer.path == "generated"
    assert answer.cited == ("cancel-service",)
    assert answer.model == "fake-served-model"
    assert answer.error is None and answer.draft is None
    assert answer.customer_text == "It takes up to 3 business days."


@pytest.mark.parametrize("failure", ["fail", "malformed", "no_choices", "uncited"])
async def test_fallback_gives_the_extractive_reply_on_each_failure(
    fake: FakeLLM, client: ChatCompletionsClient, failure: str
) -> None:
    if failure == "uncited":
        fake.answer("Sure, just cancel whenever you like.")
    else:
        getattr(fake, failure)()
    customer = CustomerDetails(name="Dana")
    answer = await answer_with_fallback(client, QUESTION, EVIDENCE, language="en", customer=customer)
    assert answer.path == "extractive"
    assert answer.error
    assert answer.model is None
    assert answer.cited == ("cancel-service",)
    assert answer.text == draft_reply(CANCEL, customer).text
    assert answer.draft is not None and answer.draft.article_slug == "cancel-service"
    assert len(fake.requests) == 1


async def test_fallback_on_timeout(fake: FakeLLM) -> None:
    fake.hang()
    async with ChatCompletionsClient(fake.base_url, "m", timeout=0.2) as client:
        answer = await answer_with_fallback(client, QUESTION, EVIDENCE, language="en", sms=True)
    assert answer.path == "extractive"
    assert "did not answer" in (answer.error or "")
    assert answer.text == draft_reply(CANCEL, sms=True).text  # the short variant, for an SMS channel


async def test_no_generator_means_extractive_without_error() -> None:
    answer = await answer_with_fallback(None, QUESTION, list(reversed(EVIDENCE)), language="en")
    assert (answer.path, answer.error) == ("extractive", None)
    assert answer.text == draft_reply(CANCEL).text  # the best-scored evidence, whatever the input order


async def test_fallback_without_evidence_is_refused() -> None:
    with pytest.raises(ValueError, match="evidence"):
        await answer_with_fallback(None, QUESTION, [], language="en")


async def test_client_closes_only_its_own_session(fake: FakeLLM) -> None:
    async with aiohttp.ClientSession() as session:
        client = ChatCompletionsClient(fake.base_url, "m", session=session)
        await client.generate_reply(QUESTION, [CANCEL], language="en")
        await client.close()
        assert not session.closed
    own = ChatCompletionsClient(fake.base_url, "m")
    await own.generate_reply(QUESTION, [CANCEL], language="en")
    session_made = own._session
    await own.close()
    assert session_made is not None and session_made.closed


def test_parse_citations_reads_lists_and_arabic_commas() -> None:
    assert parse_citations("a [2] b [1، 3] c [2]", EVIDENCE) == (
        "equipment-return",
        "cancel-service",
        "cancel-service-he",
    )
    assert parse_citations("[0] [4] [x]", EVIDENCE) == ()


def test_strip_citations_leaves_clean_text() -> None:
    assert strip_citations("It ends in 3 days [1]. Return it [2, 3] within 30 days [1].") == (
        "It ends in 3 days. Return it within 30 days."
    )


def test_build_messages_numbers_passages_in_order() -> None:
    system, user = build_messages("q?", [EQUIPMENT, CANCEL], language="ar")
    assert system["content"].index("[1] Returning equipment") < system["content"].index("[2] Cancelling")
    assert "Arabic" in system["content"]
    assert user == {"role": "user", "content": "q?"}


def test_client_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        ChatCompletionsClient("http://127.0.0.1:1/v1", "m", timeout=0)
