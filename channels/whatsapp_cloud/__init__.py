"""WhatsApp through Meta's Cloud API: ``/webhooks/whatsapp_cloud`` (GET verify, POST signed events).

Inbound messages and delivery statuses arrive signed with ``X-Hub-Signature-256``; replies, templates and
media go out through the Graph API ``/messages`` endpoint; inbound media is fetched by media id.
``const.py`` (names), ``content.py`` and ``parse.py`` (pure inbound), ``outbound.py`` (pure outbound),
``client.py`` (Graph I/O), ``adapter.py`` (wiring).
"""

from channels.whatsapp_cloud.adapter import WhatsAppCloudChannel, WhatsAppCloudSettings
from channels.whatsapp_cloud.const import ENV_PREFIX, NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "WhatsAppCloudChannel", "WhatsAppCloudSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=WhatsAppCloudSettings,
    required=("access_token", "app_secret", "verify_token", "phone_number_id"),
    build=WhatsAppCloudChannel,
    summary="WhatsApp through Meta's Cloud API (Graph): webhooks in, /messages out",
)
