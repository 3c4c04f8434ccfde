"""The article store on SQLite and PostgreSQL: upsert in place by slug, version history, listing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.articles import (
    article_versions,
    delete_article,
    get_article,
    list_articles,
    set_article_status,
    upsert_article,
)
from knowledge.drafts import ArticleDraft
from knowledge.indexing import article_passages, replace_passages
from knowledge.passages import split_passages
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

DRAFT = ArticleDraft(
    slug="router-restart",
    language="en",
    title="Restarting your router",
    body="## Steps\n\nUnplug the router, wait 30 seconds, plug it back in.",
    short="Unplug it for 30 seconds.",
    tags=("router", "restart"),
    case_types=("wifi_router",),
)


async def test_a_new_slug_is_created_at_version_one(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        change = await upsert_article(conn, DRAFT, editor="dana", now=NOW)
    assert change.change == "created" and change.changed and change.passages_changed
    article = change.article
    assert (article.version, article.created_at, article.updated_at) == (1, NOW, NOW)
    assert article.draft() == DRAFT
    async with kb_engine.connect() as conn:
        assert await get_article(conn, "router-restart") == article
        assert await get_article(conn, article.id) == article
        assert await get_article(conn, str(article.id)) == article
        assert await get_article(conn, "nope") is None


async def test_an_unchanged_reimport_writes_nothing(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        first = await upsert_article(conn, DRAFT, editor="import", now=NOW)
        again = await upsert_article(conn, DRAFT, editor="import", now=NOW + timedelta(days=1))
    assert again.change == "unchanged" and not again.changed and not again.passages_changed
    assert again.article == first.article
    async with kb_engine.connect() as conn:
        assert len(await article_versions(conn, first.article.id)) == 1


async def test_a_changed_body_updates_in_place_with_a_new_version(kb_engine: AsyncEngine) -> None:
    later = NOW + timedelta(hours=2)
    edited = dataclasses.replace(DRAFT, body="## Steps\n\nHold reset for ten seconds.")
    async with kb_engine.begin() as conn:
        first = await upsert_article(conn, DRAFT, editor="dana", now=NOW)
        second = await upsert_article(conn, edited, editor="omer", now=later)
    assert second.change == "updated" and second.passages_changed
    assert second.previous == first.article
    assert second.article.id == first.article.id
    assert (second.article.version, second.article.created_at, second.article.updated_at) == (2, NOW, later)
    async with kb_engine.connect() as conn:
        assert await get_article(conn, "router-restart") == second.article
        versions = await article_versions(conn, first.article.id)
    assert [(v.version, v.editor, v.edited_at, v.draft) for v in versions] == [
        (1, "dana", NOW, DRAFT),
        (2, "omer", later, edited),
    ]


async def test_a_tag_change_is_a_version_but_leaves_the_passages(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        await upsert_article(conn, DRAFT, editor=None, now=NOW)
        change = await upsert_article(
            conn, dataclasses.replace(DRAFT, tags=("router",)), editor=None, now=NOW
        )
    assert change.change == "updated" and not change.passages_changed
    assert change.article.version == 2 and change.article.tags == ("router",)


async def test_publish_and_unpublish_are_versions(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        await upsert_article(conn, DRAFT, editor=None, now=NOW)
        change = await set_article_status(conn, "router-restart", "draft", editor="dana", now=NOW)
        same = await set_article_status(conn, "router-restart", "draft", editor="dana", now=NOW)
        missing = await set_article_status(conn, "nope", "draft", editor="dana", now=NOW)
    assert change is not None and change.article.status == "draft" and change.article.version == 2
    assert not change.passages_changed
    assert same is not None and same.change == "unchanged"
    assert missing is None


async def test_list_filters_by_language_status_tag_and_case_type(kb_engine: AsyncEngine) -> None:
    drafts = [
        DRAFT,
        dataclasses.replace(DRAFT, slug="router-restart-he", language="he", translation_of="router-restart"),
        ArticleDraft("roaming", "en", "Roaming", "Buy a pack.", tags=("roaming",), case_types=("roaming",)),
        ArticleDraft("tv-plus", "en", "TV plus", "Soon.", tags=("tv",), status="draft"),
    ]
    async with kb_engine.begin() as conn:
        for draft in drafts:
            await upsert_article(conn, draft, editor=None, now=NOW)
    async with kb_engine.connect() as conn:

        async def slugs(**kw: object) -> list[str]:
            return [a.slug for a in await list_articles(conn, **kw)]  # type: ignore[arg-type]

        assert await slugs() == ["roaming", "router-restart", "router-restart-he", "tv-plus"]
        assert await slugs(language="he") == ["router-restart-he"]
        assert await slugs(status="draft") == ["tv-plus"]
        assert await slugs(tag="router") == ["router-restart", "router-restart-he"]
        assert await slugs(tag="rout") == []
        assert await slugs(case_type="roaming") == ["roaming"]
        assert await slugs(tag="router", language="en") == ["router-restart"]
        assert await slugs(limit=2, offset=1) == ["router-restart", "router-restart-he"]


async def test_delete_removes_the_article_its_history_and_passages(kb_engine: AsyncEngine) -> None:
    async with kb_engine.begin() as conn:
        article = (await upsert_article(conn, DRAFT, editor=None, now=NOW)).article
        await replace_passages(
            conn, article.id, split_passages(DRAFT.title, DRAFT.body, DRAFT.short), None, None
        )
        deleted = await delete_article(conn, "router-restart")
        again = await delete_article(conn, "router-restart")
    assert deleted == article and again is None
    async with kb_engine.connect() as conn:
        assert await get_article(conn, article.id) is None
        assert await article_versions(conn, article.id) == []
        assert await article_passages(conn, article.id) == []


def test_drafts_are_checked() -> None:
    with pytest.raises(ValueError, match="id must be"):
        dataclasses.replace(DRAFT, slug="Router Restart")
    with pytest.raises(ValueError, match="language"):
        dataclasses.replace(DRAFT, language="english")
    with pytest.raises(ValueError, match="status"):
        dataclasses.replace(DRAFT, status="live")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="title"):
        dataclasses.replace(DRAFT, title=" ")
    with pytest.raises(ValueError, match="body"):
        dataclasses.replace(DRAFT, body="")
    assert dataclasses.replace(DRAFT, tags=("a", " a", "", "b")).tags == ("a", "b")
