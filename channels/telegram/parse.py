"""Pure parsing for the Telegram channel: a webhook body (or one polled update) in, an outcome out.

An update (https://core.telegram.org/bots/api#update) becomes either a :class:`ParsedMessage` to store
or an :class:`UpdateAside` with a short reason to keep it aside. Nothing here does I/O.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot, CallbackQuery, Chat, Message, Update, User

from channels.telegram.const import NAME, SECRET_TOKEN_PATTERN, SUPPORTED_UPDATES
from channels.telegram.content import UnsupportedContent, message_content, message_extras
from hub.errors import Unauthorized
from hub.messages import ExternalIdentity, InboundKind, InboundMessage, SenderHints

__all__ = [
    "ParsedMessage",
    "ParsedUpdate",
    "UpdateAside",
    "bot_id_from_token",
    "is_valid_secret_token",
    "parse_update",
    "verify_secret_token",
]


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """An update that carries a customer's turn; ``callback_query_id`` is to be answered once stored."""

    update_id: int
    message: InboundMessage
    callback_query_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateAside:
    """An authentic update we do not turn into a message, and why."""

    update_id: int | None
    reason: str


ParsedUpdate = ParsedMessage | UpdateAside


def bot_id_from_token(token: str) -> str | None:
    """The bot's id, the digits before ``:`` in its token (``123456:ABC-DEF...``); None if malformed."""
    bot_id, sep, secret = token.partition(":")
    return bot_id if sep and secret and bot_id.isdigit() else None


def is_valid_secret_token(value: str) -> bool:
    """Whether Telegram accepts ``value`` as a webhook secret (https://core.telegram.org/bots/api#setwebhook)."""
    return re.fullmatch(SECRET_TOKEN_PATTERN, value) is not None


def verify_secret_token(expected: str, header: str | None) -> None:
    """Raise Unauthorized unless the ``X-Telegram-Bot-Api-Secret-Token`` header is ``expected``."""
    if not header:
        raise Unauthorized("missing X-Telegram-Bot-Api-Secret-Token header", code="missing_signature")
    if not hmac.compare_digest(expected.encode(), header.encode()):
        raise Unauthorized("X-Telegram-Bot-Api-Secret-Token does not match", code="bad_signature")


def _identity_and_hints(
    chat: Chat, sender: User | None, account: str
) -> tuple[ExternalIdentity, SenderHints]:
    # A private chat's id is the user's id; a group's is the group's, and the group is whom we answer.
    name = sender.full_name if chat.type == Chat.PRIVATE and sender is not None else chat.effective_name
    return ExternalIdentity(NAME, account, str(chat.id)), SenderHints(display_name=name or None)


def _from_message(update: Update, data: dict[str, Any], account: str) -> ParsedUpdate:
    edited = update.edited_message is not None
    message: Message | None = update.edited_message if edited else update.message
    if message is None:  # pragma: no cover - the kind was checked before parsing
        return UpdateAside(update.update_id, "malformed: update carries no message")
    if edited and message.location is not None:
        # A live location is "edited" every few seconds; storing each would flood the conversation.
        return UpdateAside(update.update_id, "unsupported update: edited_message (live location)")
    try:
        content = message_content(message)
    except UnsupportedContent as unsupported:
        return UpdateAside(update.update_id, f"unsupported message: {unsupported.what}")
    identity, hints = _identity_and_hints(message.chat, message.from_user, account)
    external_id = f"{message.chat.id}:{message.message_id}"
    received_at = message.date
    if edited:
        # An edit keeps the message_id; its edit_date tells one edit from another, and a redelivered
        # edit from a new one.
        edit_date = message.edit_date or message.date
        external_id += f":edit:{int(edit_date.timestamp())}"
        received_at = edit_date
    extras = message_extras(message)
    inbound = InboundMessage(
        identity=identity,
        external_message_id=external_id,
        thread_key=str(message.chat.id),
        kind=InboundKind.EDIT if edited else content.kind,
        received_at=received_at,
        text=content.text,
        attachments=content.attachments,
        sender_hints=hints,
        raw={"update": data, **extras},
        reply_to_external_id=extras.get("reply_to_external_id"),
    )
    return ParsedMessage(update.update_id, inbound)


def _from_callback(
    update: Update, query: CallbackQuery, data: dict[str, Any], account: str, received_at: datetime
) -> ParsedUpdate:
    # https://core.telegram.org/bots/api#callbackquery: buttons of inline-mode messages carry no
    # ``message`` (no chat to answer in), and game buttons carry no ``data``.
    if query.message is None:
        return UpdateAside(update.update_id, "unsupported update: callback_query without message")
    if query.data is None:
        return UpdateAside(update.update_id, "unsupported update: callback_query without data")
    chat = query.message.chat
    identity, hints = _identity_and_hints(chat, query.from_user, account)
    inbound = InboundMessage(
        identity=identity,
        external_message_id=f"{chat.id}:callback:{query.id}",
        thread_key=str(chat.id),
        kind=InboundKind.TEXT,
        received_at=received_at,
        text=query.data,
        sender_hints=hints,
        raw={"update": data, "button_of_external_id": f"{chat.id}:{query.message.message_id}"},
    )
    return ParsedMessage(update.update_id, inbound, callback_query_id=query.id)


def _update_kind(data: dict[str, Any]) -> str | None:
    # An update has exactly one optional field besides update_id (https://core.telegram.org/bots/api#update).
    return next((key for key in data if key != "update_id"), None)


def _load(body: bytes) -> dict[str, Any] | UpdateAside:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return UpdateAside(None, "malformed: body is not JSON")
    if not isinstance(data, dict):
        return UpdateAside(None, "malformed: body is not a JSON object")
    if not isinstance(data.get("update_id"), int) or isinstance(data["update_id"], bool):
        return UpdateAside(None, "malformed: update_id is missing or not an integer")
    return data


def parse_update(body: bytes, *, account: str, received_at: datetime, bot: Bot | None = None) -> ParsedUpdate:
    """Turn one update's JSON into a message to store, or into the reason to keep it aside."""
    data = _load(body)
    if isinstance(data, UpdateAside):
        return data
    update_id: int = data["update_id"]
    kind = _update_kind(data)
    if kind is None:
        return UpdateAside(update_id, "malformed: update carries nothing")
    # The kind is read before PTB parses: what we do not store need not satisfy PTB's schema.
    if kind not in SUPPORTED_UPDATES:
        return UpdateAside(update_id, f"unsupported update: {kind}")
    try:
        update = Update.de_json(data, bot)
        if update.callback_query is not None:
            return _from_callback(update, update.callback_query, data, account, received_at)
        return _from_message(update, data, account)
    # PTB raises whatever its constructors raise on data it does not expect (TypeError for a missing
    # field such as User.is_bot, which Telegram's own pre-3.0 samples lack): all of it means "cannot parse".
    except Exception as err:  # noqa: BLE001
        return UpdateAside(update_id, f"malformed: update {update_id}: {type(err).__name__}: {err}")
