"""What one WhatsApp message says, per message type: kind, readable text, attachments. Pure.

Types and fields: Meta's "messages webhook reference"
(https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/reference/messages) and its pages for
``edit`` and ``revoke``. Text the customer wrote is kept verbatim; structured messages (locations, cards,
reactions, orders) get a readable line and keep their data in ``InboundMessage.raw``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.messages import Attachment, InboundKind

__all__ = ["Content", "Unusable", "as_dict", "as_id", "as_list", "as_str", "message_content"]

_MEDIA_TYPES = ("image", "video", "document", "audio", "sticker")


class Unusable(Exception):
    """A message that cannot become an InboundMessage; ``reason`` is kept aside with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Content:
    """The normalized content of one message."""

    kind: InboundKind
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a string, else None."""
    return value if isinstance(value, str) else None


def as_id(value: Any) -> str | None:
    """An id Meta sends as a string (or, in places, a number); None when absent or empty."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def message_content(message: dict[str, Any]) -> Content:
    """The content of one message object; Unusable when its type is unknown or its fields are missing."""
    kind = as_str(message.get("type"))
    reader = _READERS.get(kind or "")
    if reader is None:
        raise Unusable(f"unsupported message type: {kind}")
    return reader(message)


def _text(message: dict[str, Any]) -> Content:
    body = as_str(as_dict(message.get("text")).get("body"))
    if body is None:
        raise Unusable("malformed message: text without body")
    return Content(InboundKind.TEXT, body)


def _media(message: dict[str, Any]) -> Content:
    kind = str(message["type"])
    media = as_dict(message.get(kind))
    media_id = as_id(media.get("id"))
    if media_id is None:
        raise Unusable(f"malformed message: {kind} without id")
    # The webhook's own media URL (newer payloads) needs the bearer token and expires within minutes:
    # the media id is the durable reference that fetch_media resolves. The URL stays in ``raw``.
    attachment = Attachment(
        content_type=as_str(media.get("mime_type")) or "application/octet-stream",
        filename=as_str(media.get("filename")),
        media_id=media_id,
    )
    return Content(InboundKind.MEDIA, as_str(media.get("caption")), (attachment,))


def _location(message: dict[str, Any]) -> Content:
    location = as_dict(message.get("location"))
    latitude, longitude = _number(location.get("latitude")), _number(location.get("longitude"))
    if latitude is None or longitude is None:
        raise Unusable("malformed message: location without coordinates")
    place = ", ".join(p for p in (as_str(location.get("name")), as_str(location.get("address"))) if p)
    return Content(InboundKind.LOCATION, f"📍 {latitude}, {longitude}" + (f" — {place}" if place else ""))


def _card_line(card: dict[str, Any]) -> str:
    name = as_dict(card.get("name"))
    full = as_str(name.get("formatted_name")) or " ".join(
        p for p in (as_str(name.get("first_name")), as_str(name.get("last_name"))) if p
    )
    reach = [as_str(as_dict(p).get("phone")) for p in as_list(card.get("phones"))]
    reach += [as_str(as_dict(e).get("email")) for e in as_list(card.get("emails"))]
    listed = ", ".join(r for r in reach if r)
    return f"👤 {full or '?'}" + (f": {listed}" if listed else "")


def _contacts(message: dict[str, Any]) -> Content:
    cards = [as_dict(card) for card in as_list(message.get("contacts"))]
    if not cards:
        raise Unusable("malformed message: contacts without cards")
    return Content(InboundKind.CONTACT_CARD, "\n".join(_card_line(card) for card in cards))


def _reaction(message: dict[str, Any]) -> Content:
    # An empty or missing emoji is the customer taking a reaction back.
    emoji = as_str(as_dict(message.get("reaction")).get("emoji"))
    return Content(InboundKind.REACTION, f"Reacted {emoji}" if emoji else "Removed a reaction")


def _interactive(message: dict[str, Any]) -> Content:
    interactive = message.get("interactive")
    if not isinstance(interactive, dict):
        raise Unusable("malformed message: interactive without content")
    kind = as_str(interactive.get("type"))
    if kind in ("button_reply", "list_reply"):
        # The title is what the customer tapped, as they saw it; the id and description stay in raw.
        title = as_str(as_dict(interactive.get(kind)).get("title"))
        if title is None:
            raise Unusable(f"malformed message: {kind} without title")
        return Content(InboundKind.TEXT, title)
    if kind == "nfm_reply":
        reply = as_dict(interactive.get("nfm_reply"))
        answer = as_str(reply.get("response_json")) or as_str(reply.get("body")) or ""
        return Content(InboundKind.TEXT, f"Flow response: {answer}")
    raise Unusable(f"unsupported interactive type: {kind}")


def _button(message: dict[str, Any]) -> Content:
    # A template's quick-reply button: ``context.id`` is the template message it answers.
    button = as_dict(message.get("button"))
    text = as_str(button.get("text")) or as_str(button.get("payload"))
    if text is None:
        raise Unusable("malformed message: button without text")
    return Content(InboundKind.TEXT, text)


def _order(message: dict[str, Any]) -> Content:
    order = as_dict(message.get("order"))
    items = []
    for item in (as_dict(i) for i in as_list(order.get("product_items"))):
        price = f" ({item.get('item_price')} {item.get('currency')})" if "item_price" in item else ""
        items.append(f"{item.get('quantity')} × {item.get('product_retailer_id')}{price}")
    if not items:
        raise Unusable("malformed message: order without items")
    note = as_str(order.get("text"))
    return Content(InboundKind.TEXT, "🛒 Order: " + ", ".join(items) + (f"\n{note}" if note else ""))


def _system(message: dict[str, Any]) -> Content:
    # "user_changed_number", "customer_identity_changed": Meta's own notice about the customer.
    system = as_dict(message.get("system"))
    return Content(InboundKind.EVENT, as_str(system.get("body")) or f"WhatsApp notice: {system.get('type')}")


def _unsupported(message: dict[str, Any]) -> Content:
    # The customer sent something the Cloud API cannot deliver (a poll, a view-once message, ...):
    # the agent should know they wrote, but there is nothing to show or to answer automatically.
    kind = as_str(as_dict(message.get("unsupported")).get("type"))
    return Content(InboundKind.EVENT, "Unsupported message" + (f" ({kind})" if kind else ""))


def _revoke(message: dict[str, Any]) -> Content:
    if as_id(as_dict(message.get("revoke")).get("original_message_id")) is None:
        raise Unusable("malformed message: revoke without original_message_id")
    return Content(InboundKind.EVENT, "Deleted a message")


def _edit(message: dict[str, Any]) -> Content:
    edit = as_dict(message.get("edit"))
    if as_id(edit.get("original_message_id")) is None:
        raise Unusable("malformed message: edit without original_message_id")
    inner = edit.get("message")
    if not isinstance(inner, dict) or as_str(inner.get("type")) in (None, "edit"):
        raise Unusable("malformed message: edit without the new message")
    new = message_content(inner)
    return Content(InboundKind.EDIT, new.text, new.attachments)


_READERS: dict[str, Callable[[dict[str, Any]], Content]] = {
    "text": _text,
    **dict.fromkeys(_MEDIA_TYPES, _media),
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    "system": _system,
    "unsupported": _unsupported,
    "revoke": _revoke,
    "edit": _edit,
}
