"""The Telegram channel: a bot whose updates arrive by webhook (or long polling) and whose replies go out
through python-telegram-bot's ``Bot``.

Inbound ``POST /webhooks/telegram`` with ``X-Telegram-Bot-Api-Secret-Token``; see README.md beside this file.
"""

from channels.telegram.adapter import TelegramChannel, TelegramSettings
from channels.telegram.const import ENV_PREFIX, NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "TelegramChannel", "TelegramSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=TelegramSettings,
    required=("bot_token",),
    build=TelegramChannel,
    summary="Telegram bot (Bot API) by webhook or long polling",
)
