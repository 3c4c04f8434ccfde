"""Constants of the Twilio SMS / MMS / WhatsApp channel (see shared PROVIDERS.md, "Twilio")."""

from datetime import timedelta
from typing import Final

from hub.messages import DeliveryStatus

NAME: Final = "twilio_sms"
ENV_PREFIX: Final = "TWILIO"

TWILIO_API_BASE: Final = "https://api.twilio.com"
"""Where twilio-python sends REST calls and where inbound media URLs point."""
STATUS_PATH: Final = "/status"

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"
BODY_HASH_PARAM: Final = "bodySHA256"

WHATSAPP_PREFIX: Final = "whatsapp:"
# https://www.twilio.com/docs/whatsapp/key-concepts#the-customer-service-window
WHATSAPP_WINDOW: Final = timedelta(hours=24)
# https://www.twilio.com/docs/api/errors/63016 "Outside the allowed window"
OUTSIDE_WINDOW_CODE: Final = 63016

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
MAX_MEDIA_REDIRECTS: Final = 5
DEFAULT_TIMEOUT: Final = 15.0
