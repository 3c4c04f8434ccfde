"""Pure sending rules: Telegram's length limit, our message ids, and the error taxonomy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from channels.telegram.outbound import reply_message_id, send_error, split_text
from hub.errors import PermanentSendError, TemporarySendError


def test_short_text_is_one_piece() -> None:
    assert split_text("שלום 👋") == ["שלום 👋"]


def test_long_text_is_cut_at_the_limit_and_loses_nothing() -> None:
    text = "א" * 4096 + "b" * 10
    pieces = split_text(text)
    assert [len(p) for p in pieces] == [4096, 10]
    assert "".join(pieces) == text


def test_astral_characters_count_twice_as_telegram_counts_utf16() -> None:
    pieces = split_text("👍" * 3, limit=4)
    assert pieces == ["👍👍", "👍"]


@pytest.mark.parametrize(
    ("reply_to", "chat_id", "expected"),
    [
        ("555:42", "555", 42),
        ("555:42:edit:1764000300", "555", 42),
        ("555:callback:abc", "555", None),
        ("556:42", "555", None),
        ("-100123:7", "-100123", 7),
        (None, "555", None),
        ("", "555", None),
        ("junk", "555", None),
    ],
)
def test_reply_target_is_a_message_of_the_same_chat(
    reply_to: str | None, chat_id: str, expected: int | None
) -> None:
    assert reply_message_id(reply_to, chat_id) == expected


@pytest.mark.parametrize(
    ("make_error", "kind", "provider_code", "retry_after"),
    [
        (lambda: RetryAfter(7), TemporarySendError, "429", 7.0),
        (lambda: RetryAfter(timedelta(seconds=2.5)), TemporarySendError, "429", 2.5),
        (TimedOut, TemporarySendError, None, None),
        (lambda: NetworkError("Bad Gateway"), TemporarySendError, None, None),
        (lambda: Forbidden("Forbidden: bot was blocked by the user"), PermanentSendError, "403", None),
        (lambda: BadRequest("Bad Request: chat not found"), PermanentSendError, "400", None),
        (lambda: ChatMigrated(-100999), PermanentSendError, "400", None),
        (lambda: InvalidToken("Unauthorized"), PermanentSendError, "401", None),
        (lambda: TelegramError("something new"), PermanentSendError, None, None),
    ],
)
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_errors_map_onto_the_hub_taxonomy(
    make_error: Callable[[], TelegramError],
    kind: type[Exception],
    provider_code: str | None,
    retry_after: float | None,
) -> None:
    mapped = send_error(make_error())
    assert type(mapped) is kind
    assert mapped.provider_code == provider_code
    assert getattr(mapped, "retry_after", None) == retry_after
