"""The generic API channel: signed JSON over HTTP for systems that have no adapter yet.

Inbound ``POST /webhooks/api`` with ``X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body>``;
replies are POSTed, signed the same way, to ``SWITCHBOARD_API_CALLBACK_URL``. This package is the
reference for a channel folder: ``const.py`` (names), ``parse.py`` (pure), ``client.py`` (I/O),
``adapter.py`` (wiring), and ``CHANNEL`` here.
"""

from channels.api.adapter import ApiChannel, ApiSettings
from channels.api.const import ENV_PREFIX, NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "ApiChannel", "ApiSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=ApiSettings,
    required=("secret",),
    build=ApiChannel,
    summary="Generic signed-JSON API for systems without an adapter",
)
