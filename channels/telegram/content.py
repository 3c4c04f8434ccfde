"""What a Telegram message carries, as text and attachments: pure, no I/O.

Field meanings: https://core.telegram.org/bots/api#message and the media types linked from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram import (
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Sticker,
)
from telegram.helpers import effective_message_type

from channels.telegram.const import DEFAULT_CONTENT_TYPE, PHOTO_CONTENT_TYPE
from hub.messages import Attachment, InboundKind

__all__ = ["MessageContent", "UnsupportedContent", "message_content", "message_extras"]


@dataclass(frozen=True, slots=True)
class MessageContent:
    """The readable part of a message: its kind, text and attachments."""

    kind: InboundKind
    text: str | None
    attachments: tuple[Attachment, ...] = ()


class UnsupportedContent(Exception):
    """The message carries something we do not store (a poll, a dice, a service message, ...)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _sticker_type(sticker: Sticker) -> str:
    # https://core.telegram.org/stickers: static WEBP, animated TGS (gzipped Lottie), video WEBM.
    if sticker.is_animated:
        return "application/x-tgsticker"
    return "video/webm" if sticker.is_video else "image/webp"


def _attachment(message: Message) -> Attachment | None:
    """The message's one file, if it has one; a photo is its largest size."""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Attachment(PHOTO_CONTENT_TYPE, size=largest.file_size, media_id=largest.file_id)
    # An animation also fills ``document`` (for old clients), so it is looked at first.
    for media, fallback in (
        (message.animation, "video/mp4"),
        (message.document, DEFAULT_CONTENT_TYPE),
        (message.audio, "audio/mpeg"),
        (message.video, "video/mp4"),
    ):
        if media is not None:
            return Attachment(
                media.mime_type or fallback,
                filename=media.file_name,
                size=media.file_size,
                media_id=media.file_id,
            )
    if message.voice is not None:
        voice = message.voice
        return Attachment(voice.mime_type or "audio/ogg", size=voice.file_size, media_id=voice.file_id)
    if message.video_note is not None:
        note = message.video_note
        return Attachment("video/mp4", size=note.file_size, media_id=note.file_id)
    if message.sticker is not None:
        sticker = message.sticker
        return Attachment(_sticker_type(sticker), size=sticker.file_size, media_id=sticker.file_id)
    return None


def _coordinates(latitude: float, longitude: float) -> str:
    return f"{round(latitude, 5)}, {round(longitude, 5)}"


def message_content(message: Message) -> MessageContent:
    """Text, kind and attachments of a message; UnsupportedContent when it has none we store."""
    if message.text is not None:
        return MessageContent(InboundKind.TEXT, message.text)
    attachment = _attachment(message)
    if attachment is not None:
        return MessageContent(InboundKind.MEDIA, message.caption, (attachment,))
    if message.venue is not None:
        venue = message.venue
        where = _coordinates(venue.location.latitude, venue.location.longitude)
        text = f"📍 {where} — {venue.title}, {venue.address}"
        return MessageContent(InboundKind.LOCATION, text)
    if message.location is not None:
        where = _coordinates(message.location.latitude, message.location.longitude)
        return MessageContent(InboundKind.LOCATION, f"📍 {where}")
    if message.contact is not None:
        contact = message.contact
        name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
        return MessageContent(InboundKind.CONTACT_CARD, f"👤 {name}, {contact.phone_number}")
    raise UnsupportedContent(effective_message_type(message) or "empty")


def _origin_name(origin: MessageOrigin) -> str | None:
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.effective_name
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.effective_name
    return None


def message_extras(message: Message) -> dict[str, Any]:
    """What a reply or a forward adds, for ``InboundMessage.raw``: the replied-to id, the origin."""
    extras: dict[str, Any] = {}
    if message.reply_to_message is not None:
        replied = message.reply_to_message
        extras["reply_to_external_id"] = f"{replied.chat.id}:{replied.message_id}"
    if message.quote is not None:
        extras["quote"] = message.quote.text
    if message.forward_origin is not None:
        origin = message.forward_origin
        extras["forwarded_from"] = {
            "type": str(origin.type),
            "name": _origin_name(origin),
            "date": origin.date.isoformat(),
        }
    if message.entities:
        extras["entities"] = [json.loads(entity.to_json()) for entity in message.entities]
    return extras
