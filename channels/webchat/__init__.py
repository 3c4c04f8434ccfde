"""The web chat channel: an embeddable widget on the customer's site, talking to the hub over a WebSocket.

``GET /webchat/widget.js`` serves the widget; ``GET /webchat/ws`` is its socket. Visitors are anonymous
(``visitor:<id>``, kept across page loads by a signed token) or customers the site vouches for with a
signed identity (``user:<id>``). Agent replies reach every open socket of the visitor through the hub's
broadcast. README.md describes the protocol.
"""

from channels.webchat.adapter import WebchatChannel, WebchatSettings
from channels.webchat.const import ENV_PREFIX, NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "WebchatChannel", "WebchatSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=WebchatSettings,
    required=("origins", "secret"),
    build=WebchatChannel,
    summary="Chat widget for the customer's website, over a WebSocket",
)
