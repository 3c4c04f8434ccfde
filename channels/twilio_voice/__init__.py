"""Phone calls through Twilio Voice.

The number's voice URL is ``POST /webhooks/twilio_voice``; the IVR, queue, voicemail and Twilio's status,
recording and transcription callbacks use its sub-paths, all signed (``X-Twilio-Signature``). The console
places, connects and steers calls through ``Channel.control`` (twilio-python's async REST client).
``const.py`` (names and prompts), ``settings.py``, ``parse.py``, ``twiml.py`` and ``controls.py`` (pure),
``client.py`` (I/O), ``adapter.py`` (wiring), and ``CHANNEL`` here; what it shares with twilio_sms (the
signature check among it) is in ``channels._twilio``.
"""

from channels._twilio.const import ENV_PREFIX
from channels.twilio_voice.adapter import TwilioVoiceChannel, TwilioVoiceSettings
from channels.twilio_voice.const import NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "TwilioVoiceChannel", "TwilioVoiceSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=TwilioVoiceSettings,
    required=("account_sid", "auth_token"),
    build=TwilioVoiceChannel,
    summary="Phone calls through Twilio Voice: IVR, queue, voicemail, recordings, click to call",
)
