"""Full-text search: the word normalisation (pure), and FTS5 / tsvector search on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from knowledge import fulltext
from knowledge.articles import Article, delete_article, set_article_status, upsert_article
from knowledge.drafts import ArticleDraft
from knowledge.indexing import replace_passages
from knowledge.passages import split_passages
from tests.knowledge import kb_fixtures
from tests.knowledge.kb_fixtures import NOW

kb_engine = kb_fixtures.kb_engine  # the fixture, used here by name

ARTICLES = [
    ArticleDraft("router-restart", "en", "Restarting your router", "Unplug the router, wait 30 seconds."),
    ArticleDraft("router-restart-he", "he", "הפעלה מחדש של הראוטר", "מנתקים את הראוטר מהחשמל לשלושים שניות."),
    ArticleDraft("password-fa", "fa", "تغییر رمز عبور", "برای تغییر رمز عبور وای‌فای وارد برنامه شوید."),
    ArticleDraft(
        "late-payment-ar", "ar", "التأخر في الدفع", "إذا تأخرت الفاتورة نرسل تذكيراً قبل إيقاف الخدمة."
    ),
    ArticleDraft(
        "roaming", "en", "Roaming packages", "Buy a travel pack before you fly abroad.", status="draft"
    ),
]


# --- normalisation (pure) ---


def test_normalize_folds_case_marks_and_letter_forms() -> None:
    assert fulltext.normalize("שָׁלוֹם Café") == "שלום cafe"
    assert fulltext.normalize("مُحَمَّد") == "محمد"
    assert fulltext.normalize("أإآ ی ک ة ـ") == fulltext.normalize("ااا ي ك ه ")
    assert fulltext.normalize("צ'אט ת\"ז don’t") == "צאט תז dont"


def test_hebrew_prefixes_give_variants() -> None:
    assert fulltext.index_terms("והאינטרנט") == ["והאינטרנט", "האינטרנט", "אינטרנט"]
    assert fulltext.index_terms("בית") == ["בית"]  # too short to lose a letter


def test_arabic_article_and_conjunction_give_variants() -> None:
    assert fulltext.index_terms("والانترنت") == ["والانترنت", "انترنت"]
    assert fulltext.index_terms("وفاتورة") == ["وفاتوره", "فاتوره"]


def test_english_plurals_and_verb_forms_give_stems() -> None:
    assert fulltext.index_terms("routers batteries boxes cancelled stopping press") == [
        "routers",
        "router",
        "batteries",
        "battery",
        "boxes",
        "box",
        "cancelled",
        "cancel",
        "stopping",
        "stop",
        "press",
    ]


def test_arabic_script_plural_suffix_gives_a_variant() -> None:
    assert fulltext.index_terms("كتابها") == ["كتابها", "كتاب"]


def test_a_long_query_keeps_its_first_terms() -> None:
    words = [f"word{n}" for n in range(100)]
    assert fulltext.query_terms(" ".join(words)) == words[: fulltext.MAX_QUERY_TERMS]


def test_query_terms_drop_stop_words_in_every_language_and_repeat_nothing() -> None:
    assert fulltext.query_terms("How do I restart the router? the ROUTER!") == ["restart", "router"]
    assert fulltext.query_terms("איך אני מאפס את הראוטר") == ["מאפס", "אפס", "הראוטר", "ראוטר"]
    assert fulltext.query_terms("من فضلك الفاتورة") == ["الفاتوره", "فاتوره"]
    assert fulltext.query_terms("the of and") == []


# --- search, on both databases ---


async def _store(conn: AsyncConnection, draft: ArticleDraft) -> Article:
    change = await upsert_article(conn, draft, editor="test", now=NOW)
    passages = split_passages(draft.title, draft.body, draft.short)
    await replace_passages(conn, change.article.id, passages, None, None)
    return change.article


@pytest.fixture
async def stored(kb_engine: AsyncEngine) -> dict[str, Article]:
    async with kb_engine.begin() as conn:
        return {d.slug: await _store(conn, d) for d in ARTICLES}


async def _slugs(engine: AsyncEngine, stored: dict[str, Article], query: str, **kw: object) -> list[str]:
    by_id = {a.id: slug for slug, a in stored.items()}
    async with engine.connect() as conn:
        matches = await fulltext.search_passages(conn, query, **kw)  # type: ignore[arg-type]
    return [by_id[m.article_id] for m in matches]


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("restart my routers", "router-restart"),
        ("ניתקתי את הראוטר", "router-restart-he"),
        ("رمز وای فای", "password-fa"),
        ("وصلتني الفاتورة متأخرة", "late-payment-ar"),
    ],
)
async def test_words_are_found_in_every_language(
    kb_engine: AsyncEngine, stored: dict[str, Article], query: str, slug: str
) -> None:
    assert (await _slugs(kb_engine, stored, query))[:1] == [slug]


async def test_more_matching_rare_words_rank_higher(
    kb_engine: AsyncEngine, stored: dict[str, Article]
) -> None:
    async with kb_engine.begin() as conn:
        extra = ArticleDraft(
            "router-lights", "en", "Router lights", "A red light on the router means no line."
        )
        stored["router-lights"] = await _store(conn, extra)
    assert await _slugs(kb_engine, stored, "red light router") == ["router-lights", "router-restart"]


async def test_drafts_are_left_out_unless_asked_for(
    kb_engine: AsyncEngine, stored: dict[str, Article]
) -> None:
    assert await _slugs(kb_engine, stored, "travel pack abroad") == []
    assert await _slugs(kb_engine, stored, "travel pack abroad", include_drafts=True) == ["roaming"]
    async with kb_engine.begin() as conn:
        await set_article_status(conn, "roaming", "published", editor="test", now=NOW)
    assert await _slugs(kb_engine, stored, "travel pack abroad") == ["roaming"]


async def test_a_language_filter_keeps_that_language_only(
    kb_engine: AsyncEngine, stored: dict[str, Article]
) -> None:
    both = "router הראוטר"
    assert set(await _slugs(kb_engine, stored, both)) == {"router-restart", "router-restart-he"}
    assert await _slugs(kb_engine, stored, both, language="he") == ["router-restart-he"]


async def test_replacing_or_deleting_an_article_updates_its_entries(
    kb_engine: AsyncEngine, stored: dict[str, Article]
) -> None:
    async with kb_engine.begin() as conn:
        edited = dataclasses.replace(ARTICLES[0], body="Hold the reset button for ten seconds.")
        await _store(conn, edited)
    assert await _slugs(kb_engine, stored, "unplug") == []
    assert await _slugs(kb_engine, stored, "reset button") == ["router-restart"]
    async with kb_engine.begin() as conn:
        await delete_article(conn, "router-restart")
    assert await _slugs(kb_engine, stored, "reset button") == []


async def test_a_query_of_stop_words_only_finds_nothing(
    kb_engine: AsyncEngine, stored: dict[str, Article]
) -> None:
    assert await _slugs(kb_engine, stored, "how do I the") == []
    assert await _slugs(kb_engine, stored, "") == []
