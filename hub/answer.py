"""The hub's :class:`~hub.contract.Answerer`: the bot's answer on demand, for a caller waiting on the line.

Channels get it when they are built; the bot behind it comes later (models load with the workers) and may
never come (models off, or the channel is not among ``SWITCHBOARD_BOT_CHANNELS``): then it answers None
and the channel hands the caller to a person.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.messages import BotAnswer, ExternalIdentity

if TYPE_CHECKING:
    from hub.bot import Bot

__all__ = ["HubAnswerer"]

log = logging.getLogger(__name__)


class HubAnswerer:
    """Asks the bot; any failure is None (a person takes over), never an error on a live call."""

    def __init__(self) -> None:
        self.bot: Bot | None = None

    async def __call__(
        self, question: str, *, identity: ExternalIdentity, language: str | None = None
    ) -> BotAnswer | None:
        if self.bot is None:
            return None
        try:
            return await self.bot.answer_now(question, channel=identity.channel, language=language)
        except Exception:  # boundary: the caller must reach a person even when retrieval fails
            log.exception("the bot could not answer a %s caller", identity.channel)
            return None
