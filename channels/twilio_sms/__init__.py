"""SMS, MMS and WhatsApp through Twilio.

Inbound messages arrive signed (``X-Twilio-Signature``) at ``POST /webhooks/twilio_sms``, delivery status
callbacks at ``POST /webhooks/twilio_sms/status``; replies go out through twilio-python's async client.
``const.py`` (names), ``signature.py`` and ``parse.py`` (pure), ``client.py`` (I/O), ``adapter.py``
(wiring), and ``CHANNEL`` here; what it shares with twilio_voice is in ``channels._twilio``.
"""

from channels._twilio.const import ENV_PREFIX
from channels.twilio_sms.adapter import TwilioSmsChannel, TwilioSmsSettings
from channels.twilio_sms.const import NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "TwilioSmsChannel", "TwilioSmsSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=TwilioSmsSettings,
    required=("account_sid", "auth_token"),
    build=TwilioSmsChannel,
    summary="SMS, MMS and WhatsApp through Twilio",
)
