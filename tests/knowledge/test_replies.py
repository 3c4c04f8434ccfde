"""The extractive suggested reply: text choice, trimming, greeting, placeholders, dates, no braces ever."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

import frontmatter
import pytest

from knowledge.bot import Evidence
from knowledge.replies import (
    CLOSINGS,
    GREETINGS,
    SMS_MAX_CHARS,
    CustomerDetails,
    draft_reply,
    fill_placeholders,
    format_date,
    plain_text,
    trim_to_sentences,
)

ARTICLES = Path(__file__).resolve().parents[1] / "data" / "kb" / "articles"
DANA = CustomerDetails(name="Dana", product="Fibre 1000", agreement_end=date(2026, 12, 31))
TEMPLATE = (
    "## Reply template\n\n"
    '"Hi {customer_name}, your {product} agreement ends on {agreement_end}. After that date you can '
    'continue month-to-month or renew; just reply to this message or call us."'
)


def evidence(passage: str, *, language: str = "en", short: str | None = None) -> Evidence:
    return Evidence("agreement-end", "When your agreement ends", language, passage, 0.8, 0.9, short)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "31 Dec 2026"), ("he", "31/12/2026"), ("fa", "31/12/2026"), ("ar", "31/12/2026")],
)
def test_dates_are_formatted_per_language(language: str, expected: str) -> None:
    assert format_date(date(2026, 12, 31), language) == expected
    assert format_date(date(2027, 3, 5), "he") == "05/03/2027"


def test_template_is_filled_from_the_customer_and_greets_by_itself() -> None:
    draft = draft_reply(evidence(TEMPLATE), DANA)
    assert draft.text.startswith("Hi Dana, your Fibre 1000 agreement ends on 31 Dec 2026. After that date")
    assert draft.text.count("Hi") == 1  # the template's own greeting, not a second one of ours
    assert draft.filled == {"customer_name": "Dana", "product": "Fibre 1000", "agreement_end": "31 Dec 2026"}
    assert draft.missing == ()
    assert (draft.article_slug, draft.language) == ("agreement-end", "en")


def test_hebrew_dates_in_a_hebrew_template() -> None:
    passage = "שלום {customer_name}, ההסכם שלך ל-{product} מסתיים ב-{agreement_end}."
    draft = draft_reply(evidence(passage, language="he"), DANA)
    assert "31/12/2026" in draft.text and "שלום Dana" in draft.text
    assert draft.text.endswith(CLOSINGS["he"])


def test_missing_name_leaves_a_readable_greeting() -> None:
    draft = draft_reply(
        evidence(TEMPLATE), CustomerDetails(product="Fibre 1000", agreement_end=date(2026, 1, 2))
    )
    assert draft.text.startswith("Hi, your Fibre 1000 agreement ends on 2 Jan 2026.")
    assert draft.missing == ("customer_name",)


def test_a_sentence_needing_a_missing_value_is_left_out() -> None:
    draft = draft_reply(evidence(TEMPLATE), CustomerDetails(name="Dana"))
    assert "agreement ends on" not in draft.text
    assert "After that date you can continue" in draft.text
    # The template's greeting went with its sentence, so ours stands in.
    assert draft.text.startswith("Hi Dana,\n\nAfter that date")
    assert set(draft.missing) == {"product", "agreement_end"}


def test_unknown_placeholders_never_reach_the_customer() -> None:
    passage = "We froze {amount} and will reply by {due_date}. You do not need to pay it meanwhile."
    draft = draft_reply(evidence(passage), DANA)
    assert draft.text == "Hi Dana,\n\nYou do not need to pay it meanwhile.\n\n" + CLOSINGS["en"]
    assert draft.missing == ("amount", "due_date")


def test_customer_values_cannot_inject_placeholders() -> None:
    draft = draft_reply(
        evidence("Your {product} is ready."), CustomerDetails(name="{x} Eve", product="{amount}")
    )
    assert "{" not in draft.text and "}" not in draft.text
    assert draft.filled["customer_name"] == "x Eve"


@pytest.mark.parametrize("language", ["en", "he", "fa", "ar"])
def test_greeting_and_closing_per_language(language: str) -> None:
    with_name = draft_reply(evidence("A fact.", language=language), CustomerDetails(name="Noa"))
    without = draft_reply(evidence("A fact.", language=language))
    assert with_name.text.startswith(GREETINGS[language][0].replace("{customer_name}", "Noa"))
    assert without.text.startswith(GREETINGS[language][1])
    assert with_name.text.endswith(CLOSINGS[language])
    assert with_name.filled == {"customer_name": "Noa"}


def test_unknown_language_uses_english_templates_but_keeps_the_article_language() -> None:
    draft = draft_reply(evidence("Ein Fakt.", language="de"))
    assert draft.text.startswith("Hi,") and draft.language == "de"


def test_sms_uses_the_short_variant_without_closing() -> None:
    short = "Cancel in the app or call *2255. It takes 3 business days."
    draft = draft_reply(
        evidence("A long passage. " * 40, short=short), CustomerDetails(name="Dana"), sms=True
    )
    assert draft.text == f"Hi Dana,\n\n{short}"
    assert draft.source == "short"


def test_sms_without_a_short_variant_trims_the_passage() -> None:
    passage = " ".join(f"Sentence number {i} says one thing." for i in range(40))
    draft = draft_reply(evidence(passage), sms=True)
    body = draft.text.split("\n\n")[1]
    assert len(body) <= SMS_MAX_CHARS and body.endswith("thing.")
    assert draft.source == "passage"


def test_chat_uses_the_matched_passage_not_the_short_variant() -> None:
    draft = draft_reply(evidence("The passage that matched.", short="The short one."))
    assert "The passage that matched." in draft.text and "short one" not in draft.text


def test_trim_keeps_whole_sentences() -> None:
    text = "First sentence here. Second one is here! Third? Fourth."
    assert trim_to_sentences(text, 45) == "First sentence here. Second one is here!"
    assert trim_to_sentences(text, 1000) == text
    cut = trim_to_sentences("one two three four five six seven eight nine ten", 20)
    assert cut.endswith("…") and len(cut) <= 20 and cut.startswith("one two")


def test_trim_splits_arabic_and_persian_question_marks() -> None:
    assert trim_to_sentences("هل تريد المساعدة؟ نعم بالتأكيد.", 20) == "هل تريد المساعدة؟"


def test_plain_text_drops_markdown() -> None:
    markdown = (
        "## How to cancel\n\n"
        "- **App or website:** **My services > Cancel**\n"
        "- **Phone:** \\*2255, option 4\n"
        "1. See [the price list](https://galilnet.example/prices)\n\n"
        "| Plan | Price |\n|---|---|\n| Fibre 600 | ₪99 |\n"
    )
    assert plain_text(markdown) == (
        "App or website: My services > Cancel. Phone: *2255, option 4. See the price list. "
        "Plan, Price. Fibre 600, ₪99."
    )


def test_fill_placeholders_reports_what_it_filled() -> None:
    text, filled, missing = fill_placeholders(
        "Hi {customer_name}, thanks. Your {product} renews.", {"customer_name": "Ali"}
    )
    assert (text, filled, missing) == ("Hi Ali, thanks.", {"customer_name": "Ali"}, ("product",))


def test_an_empty_passage_falls_back_to_the_short_variant_then_the_title() -> None:
    assert draft_reply(evidence("## Only a heading", short="Short answer.")).source == "short"
    draft = draft_reply(evidence("{amount} is due."))
    assert draft.source == "title" and "When your agreement ends" in draft.text


@pytest.mark.skipif(not ARTICLES.is_dir(), reason="tests/data/kb/articles is not there")
def test_no_article_section_ever_yields_braces() -> None:
    customers = [None, CustomerDetails(), CustomerDetails(name="Dana"), DANA]
    checked = 0
    for path in sorted(ARTICLES.glob("*.md")):
        post = frontmatter.load(path)
        sections = re.split(r"\n(?=#)", post.content)
        for section, customer, sms in itertools.product(sections, customers, (False, True)):
            item = Evidence(
                path.stem, str(post["title"]), str(post["language"]), section, 0.5, 0.8, post.get("short")
            )
            text = draft_reply(item, customer, sms=sms).text
            assert "{" not in text and "}" not in text, (path.name, section[:40])
            assert text.strip()
            checked += 1
    assert checked > 1000
