"""Constants of the WhatsApp Cloud API channel (Meta's Graph API, no SDK)."""

from datetime import timedelta
from typing import Final

NAME: Final = "whatsapp_cloud"
ENV_PREFIX: Final = "WHATSAPP"

DEFAULT_GRAPH_BASE: Final = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION: Final = "v21.0"
DEFAULT_TIMEOUT_SECONDS: Final = 15.0

# https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
SIGNATURE_PREFIX: Final = "sha256="
WEBHOOK_OBJECT: Final = "whatsapp_business_account"
MESSAGES_FIELD: Final = "messages"

# https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-messages#customer-service-windows
REPLY_WINDOW: Final = timedelta(hours=24)

# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
RATE_LIMIT_CODES: Final = frozenset({4, 80007, 130429, 131048, 131056})
"""Throttling: app, account, Cloud API throughput, spam rate limit, pair (business, user) rate limit."""
UNAVAILABLE_CODES: Final = frozenset({2, 131016, 133004})
"""Meta's own outages: temporary downtime, service unavailable, server temporarily unavailable."""
REENGAGEMENT_CODE: Final = 131047
"""More than 24 hours since the customer last wrote: only a template may be sent."""

CAPTION_LIMIT: Final = 1024
CAPTION_TYPES: Final = frozenset({"image", "video", "document"})
DOWNLOAD_CHUNK: Final = 64 * 1024
