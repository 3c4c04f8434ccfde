"""Constants of the web chat channel: names, protocol frame types, close codes, defaults."""

from typing import Final

NAME: Final = "webchat"
ENV_PREFIX: Final = "WEBCHAT"
DEFAULT_ACCOUNT: Final = "default"

# Prefixes of ExternalIdentity.external_id: an anonymous visitor, or a customer the site vouched for.
VISITOR_PREFIX: Final = "visitor:"
USER_PREFIX: Final = "user:"

TOKEN_VERSION: Final = "v1"  # noqa: S105  (a format version, not a secret)
VISITOR_ID_BYTES: Final = 16
MIN_SECRET_LENGTH: Final = 16

# Limits on what a browser may send (characters unless said otherwise).
MAX_CLIENT_ID_LENGTH: Final = 64
MAX_USER_ID_LENGTH: Final = 200
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 320
MAX_PAGE_LENGTH: Final = 2048
MAX_READ_IDS: Final = 100
HISTORY_LIMIT: Final = 50

# Close codes in the 4000-4999 range are ours (RFC 6455 §7.4.2); the widget acts on them.
CLOSE_BAD_REQUEST: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_HELLO_TIMEOUT: Final = 4408
CLOSE_GOING_AWAY: Final = 1001
CLOSE_INTERNAL_ERROR: Final = 1011

# Payload kinds on the broadcast topic of one identity.
PAYLOAD_REPLY: Final = "reply"
PAYLOAD_VISITOR_MESSAGE: Final = "visitor_message"
