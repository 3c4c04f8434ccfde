"""REST for the knowledge base (articles, scripts, search) and for suggestions beside a conversation."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from aiohttp import web

from crm_core.db import Database
from hub.api.auth import require_role
from hub.api.params import json_body, path_id, query_choice, query_int, respond
from hub.errors import BadRequest, NotFound, SwitchboardError
from hub.keys import DATABASE
from hub.keys_knowledge import KNOWLEDGE, SUGGESTER
from hub.messages import utcnow
from knowledge.articles import Article, article_versions, get_article, list_articles
from knowledge.call_scripts import get_script, list_scripts
from knowledge.drafts import ArticleDraft
from knowledge.retrieval import Hit
from knowledge.suggestion_log import record_outcome

__all__ = ["knowledge_routes"]

ANY_ROLE = ("agent", "supervisor", "admin", "service")
EDITORS = ("supervisor", "admin", "service")
STATUSES = ("draft", "published")
OUTCOMES = ("sent_as_is", "edited", "dismissed")


class KnowledgeUnavailable(SwitchboardError):
    """The hub runs without its models (``SWITCHBOARD_MODELS=false``)."""

    status = 503
    code = "knowledge_unavailable"


def _service(request: web.Request) -> Any:
    try:
        return request.config_dict[KNOWLEDGE]
    except KeyError:
        raise KnowledgeUnavailable("this hub runs without models (SWITCHBOARD_MODELS=false)") from None


def _database(request: web.Request) -> Database:
    # Reading the knowledge base needs no model: only search and edits (which embed) do.
    return request.config_dict[DATABASE]


def _article_json(article: Article, *, with_body: bool = True) -> dict[str, Any]:
    data = dataclasses.asdict(article)
    if not with_body:
        del data["body"]
    return data


async def articles_index(request: web.Request) -> web.Response:
    """Articles by slug; filters: language, status, tag, case_type."""
    require_role(request, *ANY_ROLE)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    offset = query_int(request, "offset", 0, low=0, high=1_000_000)
    async with _database(request).reader.connect() as conn:
        items = await list_articles(
            conn,
            language=request.query.get("language") or None,
            status=query_choice(request, "status", STATUSES),  # type: ignore[arg-type]
            tag=request.query.get("tag") or None,
            case_type=request.query.get("case_type") or None,
            limit=limit,
            offset=offset,
        )
    return respond(
        {"items": [_article_json(a, with_body=False) for a in items], "limit": limit, "offset": offset}
    )


async def article_show(request: web.Request) -> web.Response:
    """One article, its current version."""
    require_role(request, *ANY_ROLE)
    async with _database(request).reader.connect() as conn:
        article = await get_article(conn, request.match_info["slug"])
    if article is None:
        raise NotFound("no such article")
    return respond(_article_json(article))


async def article_history(request: web.Request) -> web.Response:
    """Every saved version of an article, oldest first."""
    require_role(request, *ANY_ROLE)
    async with _database(request).reader.connect() as conn:
        article = await get_article(conn, request.match_info["slug"])
        if article is None:
            raise NotFound("no such article")
        versions = await article_versions(conn, article.id)
    return respond({"items": [dataclasses.asdict(v) for v in versions]})


def _draft(body: dict[str, Any], slug: str | None) -> ArticleDraft:
    def text(name: str, default: str | None = None) -> str:
        value = body.get(name, default)
        if not isinstance(value, str):
            raise BadRequest(
                f"{name} must be a string", code="missing_field" if value is None else "invalid_field"
            )
        return value

    def names(name: str) -> tuple[str, ...]:
        value = body.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{name} must be a list of strings", code="invalid_field")
        return tuple(value)

    translation = body.get("translation_of")
    try:
        return ArticleDraft(
            slug=slug or text("slug"),
            language=text("language"),
            title=text("title"),
            body=text("body"),
            short=text("short", ""),
            tags=names("tags"),
            case_types=names("case_types"),
            status=text("status", "published"),  # type: ignore[arg-type]
            translation_of=translation if isinstance(translation, str) else None,
        )
    except ValueError as err:
        raise BadRequest(str(err), code="invalid_field") from err


async def article_create(request: web.Request) -> web.Response:
    """Create an article (or update the one with this slug): it is searchable as soon as this answers."""
    principal = require_role(request, *EDITORS)
    draft = _draft(await json_body(request), None)
    article, change = await _service(request).save_article(draft, editor=principal.actor)
    return respond({**_article_json(article), "change": change}, status=201 if change == "created" else 200)


async def article_update(request: web.Request) -> web.Response:
    """Edit an article: a new version; only its own passages are re-embedded."""
    principal = require_role(request, *EDITORS)
    slug = request.match_info["slug"]
    async with _database(request).reader.connect() as conn:
        if await get_article(conn, slug) is None:
            raise NotFound("no such article")
    draft = _draft(await json_body(request), slug)
    article, change = await _service(request).save_article(draft, editor=principal.actor)
    return respond({**_article_json(article), "change": change})


def _hit_json(hit: Hit) -> dict[str, Any]:
    return dataclasses.asdict(hit)


async def kb_search(request: web.Request) -> web.Response:
    """Articles for a question, by full text and by meaning fused, each with the passage that matched."""
    require_role(request, *ANY_ROLE)
    query = (request.query.get("q") or "").strip()
    if not query:
        raise BadRequest("q is required", code="invalid_parameter")
    k = query_int(request, "k", 5, low=1, high=50)
    language = request.query.get("language") or None
    hits = await _service(request).search(query, language=language, prefer_language=language, k=k)
    return respond({"query": query, "items": [_hit_json(h) for h in hits]})


async def scripts_index(request: web.Request) -> web.Response:
    """Call scripts; filters: case_type, language, status."""
    require_role(request, *ANY_ROLE)
    async with _database(request).reader.connect() as conn:
        items = await list_scripts(
            conn,
            case_type=request.query.get("case_type") or None,
            language=request.query.get("language") or None,
            status=query_choice(request, "status", STATUSES),  # type: ignore[arg-type]
        )
    return respond({"items": [dataclasses.asdict(s) for s in items]})


async def script_show(request: web.Request) -> web.Response:
    """One call script with its steps."""
    require_role(request, *ANY_ROLE)
    async with _database(request).reader.connect() as conn:
        script = await get_script(conn, request.match_info["slug"])
    if script is None:
        raise NotFound("no such script")
    return respond(dataclasses.asdict(script))


async def conversation_suggestions(request: web.Request) -> web.Response:
    """Suggestions for the conversation's latest customer message (computed now if none are stored)."""
    require_role(request, *ANY_ROLE)
    _service(request)
    suggester = request.config_dict[SUGGESTER]
    conversation_id = path_id(request)
    found = await suggester.stored(conversation_id) or await suggester.suggest(conversation_id)
    if found is None:
        raise NotFound("no such conversation, or no customer message to suggest for")
    return respond(found)


async def suggestion_outcome(request: web.Request) -> web.Response:
    """What the agent did with a suggestion: sent_as_is, edited or dismissed (the first answer stands)."""
    principal = require_role(request, *ANY_ROLE)
    body = await json_body(request)
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}", code="invalid_field")
    agent = uuid.UUID(principal.agent_id) if principal.agent_id else None
    async with _database(request).writer.begin() as conn:
        stored = await record_outcome(conn, path_id(request), outcome, agent_id=agent, now=utcnow())
    if not stored:
        raise NotFound("no such suggestion, or its outcome is already recorded")
    return respond({"suggestion_id": str(path_id(request)), "outcome": outcome})


def knowledge_routes() -> list[web.RouteDef]:
    """The knowledge base's REST routes."""
    return [
        web.get("/kb/articles", articles_index),
        web.post("/kb/articles", article_create),
        web.get("/kb/articles/{slug}", article_show),
        web.put("/kb/articles/{slug}", article_update),
        web.get("/kb/articles/{slug}/versions", article_history),
        web.get("/kb/search", kb_search),
        web.get("/kb/scripts", scripts_index),
        web.get("/kb/scripts/{slug}", script_show),
        web.get("/conversations/{id}/suggestions", conversation_suggestions),
        web.post("/suggestions/{id}/outcome", suggestion_outcome),
    ]
