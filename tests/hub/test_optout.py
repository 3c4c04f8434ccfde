"""STOP / START / HELP keyword recognition in the four languages."""

from __future__ import annotations

import pytest

from hub.optout import KeywordAction, match_keyword


@pytest.mark.parametrize(
    ("text", "action", "language"),
    [
        ("STOP", KeywordAction.OUT, "en"),
        ("  stop. ", KeywordAction.OUT, "en"),
        ("Unsubscribe", KeywordAction.OUT, "en"),
        ("START", KeywordAction.IN, "en"),
        ("help", KeywordAction.HELP, "en"),
        ("הסר", KeywordAction.OUT, "he"),
        ("עזרה", KeywordAction.HELP, "he"),
        ("لغو", KeywordAction.OUT, "fa"),
        ("إلغاء", KeywordAction.OUT, "ar"),
        ("مساعدة", KeywordAction.HELP, "ar"),
    ],
)
def test_a_message_that_is_only_a_keyword_matches(text: str, action: KeywordAction, language: str) -> None:
    found = match_keyword(text)
    assert found is not None
    assert (found.action, found.language) == (action, language)
    assert found.confirmation


@pytest.mark.parametrize(
    "text", ["please stop calling me at night", "stopped working", "", None, "START NOW!!! " * 5]
)
def test_longer_texts_that_contain_a_keyword_do_not_match(text: str | None) -> None:
    assert match_keyword(text) is None
