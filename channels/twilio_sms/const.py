"""Constants of the Twilio SMS / MMS / WhatsApp channel (see shared PROVIDERS.md, "Twilio").

Twilio's own (API base, signature headers, error codes) are the Twilio channels' shared ``channels._twilio``.
"""

from datetime import timedelta
from typing import Final

from hub.messages import DeliveryStatus

NAME: Final = "twilio_sms"
STATUS_PATH: Final = "/status"
BODY_HASH_PARAM: Final = "bodySHA256"

WHATSAPP_PREFIX: Final = "whatsapp:"
# https://www.twilio.com/docs/whatsapp/key-concepts#the-customer-service-window
WHATSAPP_WINDOW: Final = timedelta(hours=24)

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
EMPTY_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio's MessageStatus values (OpenAPI message_enum_status) onto ours; "Outbound Message Status in
# Status Callbacks". receiving/received describe inbound messages and are ignored (None).
STATUS_MAP: Final[dict[str, DeliveryStatus | None]] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "partially_delivered": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "receiving": None,
    "received": None,
}

VCARD_TYPES: Final = frozenset({"text/vcard", "text/x-vcard"})
