"""Typed keys of the aiohttp application's state."""

from __future__ import annotations

from aiohttp import web

from crm_core.db import Database
from hub.bus import Bus
from hub.metrics import Metrics
from hub.pipeline import IngestPipeline
from hub.registry import DiscoveredChannel
from hub.settings import HubSettings

__all__ = ["BUS", "CHANNELS", "DATABASE", "METRICS", "PIPELINE", "SETTINGS"]

SETTINGS = web.AppKey("settings", HubSettings)
DATABASE = web.AppKey("database", Database)
BUS = web.AppKey("bus", Bus)
METRICS = web.AppKey("metrics", Metrics)
PIPELINE = web.AppKey("pipeline", IngestPipeline)
CHANNELS = web.AppKey("channels", list[DiscoveredChannel])
