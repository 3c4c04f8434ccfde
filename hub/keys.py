"""Typed keys of the aiohttp application's state."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from crm_core.db import Database
from hub.answer import HubAnswerer
from hub.assign import AutoAssigner
from hub.broadcast import BroadcastService
from hub.bus import Bus
from hub.console_ws import ConsoleFeed
from hub.inbox import HubInbox
from hub.media import MediaFetcher
from hub.metrics import Metrics
from hub.outbox import Outbox
from hub.pipeline import IngestPipeline
from hub.registry import DiscoveredChannel
from hub.settings import HubSettings
from hub.snooze import SnoozeWaker

__all__ = [
    "ANSWERER",
    "ASSIGNER",
    "BROADCAST",
    "BUS",
    "CHANNELS",
    "CONSOLE",
    "DATABASE",
    "INBOX",
    "MEDIA",
    "METRICS",
    "OUTBOX",
    "PIPELINE",
    "SETTINGS",
    "SNOOZE",
    "WORKERS",
]

SETTINGS = web.AppKey("settings", HubSettings)
DATABASE = web.AppKey("database", Database)
BUS = web.AppKey("bus", Bus)
METRICS = web.AppKey("metrics", Metrics)
PIPELINE = web.AppKey("pipeline", IngestPipeline)
CHANNELS = web.AppKey("channels", list[DiscoveredChannel])
INBOX = web.AppKey("inbox", HubInbox)
OUTBOX = web.AppKey("outbox", Outbox)
BROADCAST = web.AppKey("broadcast", BroadcastService)
MEDIA = web.AppKey("media", MediaFetcher)
WORKERS = web.AppKey("workers", list[Any])
"""Optional background parts (model service, sentiment, suggestions, bot): each has start() and close()."""
SNOOZE = web.AppKey("snooze", SnoozeWaker)
CONSOLE = web.AppKey("console", ConsoleFeed)
ASSIGNER = web.AppKey("assigner", AutoAssigner)
"""Round-robin auto-assignment (a consumer of the event stream)."""
ANSWERER = web.AppKey("answerer", HubAnswerer)
"""The bot's answer on demand for channels (a live call); answers None until the bot is built."""
