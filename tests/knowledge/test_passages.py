"""Splitting articles into passages: the short variant first, a passage per section, long ones cut."""

from __future__ import annotations

from knowledge.drafts import ArticleDraft
from knowledge.passages import Passage, embedding_text, passages_to_embed, split_passages

BODY = """# Cancelling a service

You can cancel any service in the same ways you can order one, and we will not make it difficult.

## How to cancel

- **App:** **My services > [service] > Cancel**.
- **Phone:** \\*2255, option 4, or see [the contact page](https://galilnet.example/contact).

## Equipment

Return the router within **30 days**, at any store or post office, or it is charged.

## Note

See also.
"""


def test_short_variant_then_intro_then_one_passage_per_section() -> None:
    passages = split_passages("Cancelling a service", BODY, "Cancel in the app or call *2255.")
    assert [p.heading for p in passages] == ["", "", "How to cancel", "Equipment", ""]
    assert [p.position for p in passages] == [0, 1, 2, 3, 4]
    assert passages[0].text == "Cancel in the app or call *2255."
    assert passages[1].text.startswith("You can cancel any service")


def test_markdown_markup_is_stripped_but_escaped_characters_stay() -> None:
    how = split_passages("Cancelling a service", BODY)[1]
    assert how.text == (
        "- App: My services > [service] > Cancel.\n- Phone: *2255, option 4, or see the contact page."
    )


def test_a_title_heading_is_not_repeated_and_a_tiny_last_section_is_kept() -> None:
    passages = split_passages("Cancelling a service", BODY)
    assert all("Cancelling a service" not in p.text for p in passages)
    assert passages[-1] == Passage(3, "", "Note: See also.")


def test_a_tiny_section_is_carried_into_the_next_one() -> None:
    body = (
        "## Hours\n\nDaily.\n\n## Phones\n\nCall *2255 from any Galil Net line, or 1-800-255-255 from abroad."
    )
    passages = split_passages("Contact", body)
    assert [(p.heading, p.text.splitlines()[0]) for p in passages] == [("Phones", "Hours: Daily.")]


def test_long_sections_are_cut_between_blocks_and_sentences() -> None:
    paragraph = " ".join(f"Sentence number {n} says something useful here." for n in range(40))
    passages = split_passages("Long", f"## Big\n\n{paragraph}\n\n- item one\n- item two", max_words=60)
    assert len(passages) > 4
    assert all(len(p.text.split()) <= 60 for p in passages)
    assert all(p.heading == "Big" for p in passages)
    assert " ".join(p.text for p in passages).split() == (paragraph + " - item one - item two").split()


def test_embedding_text_gives_title_heading_and_tags_as_context() -> None:
    passage = Passage(2, "Equipment", "Return the router.")
    assert embedding_text("Cancelling", passage, ("cancel", "leave")) == (
        "Cancelling\nEquipment\nReturn the router.\ncancel, leave"
    )
    draft = ArticleDraft("cancel", "en", "Cancelling a service", BODY, short="Short.", tags=("cancel",))
    texts = passages_to_embed(draft)
    assert len(texts) == len(split_passages(draft.title, draft.body, draft.short))
    assert texts[0] == "Cancelling a service\nShort.\ncancel"


def test_hebrew_sections_split_the_same_way() -> None:
    body = "## איך מבטלים\n\nבאפליקציה או באתר, בטלפון ‎*2255 שלוחה 4, או בצ'אט באתר ובוואטסאפ."
    (passage,) = split_passages("ביטול שירות", body)
    assert passage.heading == "איך מבטלים"
    assert "בצ'אט" in passage.text
