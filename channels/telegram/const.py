"""Constants of the Telegram channel (https://core.telegram.org/bots/api)."""

from typing import Final

NAME: Final = "telegram"
ENV_PREFIX: Final = "TELEGRAM"
ENV_VAR_PREFIX: Final = "SWITCHBOARD_TELEGRAM_"
DEFAULT_API_BASE: Final = "https://api.telegram.org"

# https://core.telegram.org/bots/api#setwebhook: sent on every webhook request when set.
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
SECRET_TOKEN_PATTERN: Final = r"[A-Za-z0-9_-]{1,256}"  # noqa: S105 - a pattern

MODE_WEBHOOK: Final = "webhook"
MODE_POLLING: Final = "polling"

# https://core.telegram.org/bots/api#sendmessage: 1-4096 characters after entities parsing.
MAX_TEXT_LENGTH: Final = 4096
# https://core.telegram.org/bots/api#sendphoto: 0-1024 characters of caption.
MAX_CAPTION_LENGTH: Final = 1024
# https://core.telegram.org/bots/api#getupdates: long-poll timeout; 50 s is the most Telegram honours.
DEFAULT_POLL_TIMEOUT: Final = 30
DEFAULT_POLL_RETRY_DELAY: Final = 5.0

# Update kinds we turn into messages; every other kind is kept aside as unsupported.
SUPPORTED_UPDATES: Final = ("message", "edited_message", "callback_query")

# Telegram re-encodes every photo as JPEG (https://core.telegram.org/bots/api#photosize).
PHOTO_CONTENT_TYPE: Final = "image/jpeg"
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
