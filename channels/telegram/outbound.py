"""Pure helpers for sending: splitting long text, reading our own message ids, mapping errors."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from channels.telegram.const import MAX_TEXT_LENGTH
from hub.errors import PermanentSendError, TemporarySendError

__all__ = ["external_id", "reply_message_id", "retry_after_seconds", "send_error", "split_text"]


def external_id(chat_id: int | str, message_id: int) -> str:
    """Our id for a Telegram message: ``<chat_id>:<message_id>`` (message ids are unique per chat)."""
    return f"{chat_id}:{message_id}"


def reply_message_id(reply_to_external_id: str | None, chat_id: str) -> int | None:
    """The message_id to reply to, when ``reply_to_external_id`` names a message of this chat."""
    if not reply_to_external_id:
        return None
    parts = reply_to_external_id.split(":")
    if len(parts) < 2 or parts[0] != chat_id or not parts[1].isdigit():
        return None
    return int(parts[1])


def _utf16_length(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def split_text(text: str, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """Cut ``text`` into pieces Telegram accepts; it counts length in UTF-16 code units."""
    pieces: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(text):
        width = _utf16_length(char)
        if used + width > limit:
            pieces.append(text[start:index])
            start, used = index, 0
        used += width
    pieces.append(text[start:])
    return pieces


def retry_after_seconds(err: RetryAfter) -> float:
    """How long Telegram asked us to wait."""
    # PTB 22 warns that ``retry_after`` becomes a timedelta; either form is read the same.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def send_error(err: TelegramError) -> TemporarySendError | PermanentSendError:
    """The hub's error for a refusal PTB raised (https://core.telegram.org/bots/api#making-requests)."""
    detail = f"Telegram refused: {err.message}"
    if isinstance(err, RetryAfter):
        return TemporarySendError(detail, retry_after=retry_after_seconds(err), provider_code="429")
    # Order matters: BadRequest and TimedOut are NetworkErrors in PTB's hierarchy.
    if isinstance(err, Forbidden):
        return PermanentSendError(detail, provider_code="403")
    if isinstance(err, InvalidToken):
        return PermanentSendError(detail, provider_code="401")
    if isinstance(err, ChatMigrated):
        return PermanentSendError(f"{detail} (group moved to chat {err.new_chat_id})", provider_code="400")
    if isinstance(err, BadRequest):
        return PermanentSendError(detail, provider_code="400")
    if isinstance(err, Conflict):
        return PermanentSendError(detail, provider_code="409")
    if isinstance(err, TimedOut):
        return TemporarySendError(f"Telegram timed out: {err.message}")
    if isinstance(err, NetworkError):
        return TemporarySendError(f"Telegram unreachable or failing: {err.message}")
    return PermanentSendError(detail)
