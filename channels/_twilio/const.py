"""Constants of Twilio itself, the same for every Twilio channel (see shared PROVIDERS.md, "Twilio")."""

from typing import Final

ENV_PREFIX: Final = "TWILIO"
"""Both Twilio channels read the same ``SWITCHBOARD_TWILIO_*`` credentials."""

TWILIO_API_BASE: Final = "https://api.twilio.com"
"""Where twilio-python sends REST calls and where media and recording URLs point."""

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"
FORWARDED_PROTO_HEADER: Final = "X-Forwarded-Proto"

UNKNOWN_ACCOUNT: Final = "unknown"
"""The account of traffic kept aside that names none of our numbers, services or accounts."""

# https://www.twilio.com/docs/api/errors/63016 "Outside the allowed window"
OUTSIDE_WINDOW_CODE: Final = 63016

MAX_MEDIA_REDIRECTS: Final = 5
DEFAULT_TIMEOUT: Final = 15.0
