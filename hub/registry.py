"""Finds channel packages (``channels/*/`` exporting ``CHANNEL``) and builds the configured ones.

No list of channels is kept anywhere: adding a channel is adding its folder.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import channels
from hub.contract import Channel, ChannelContext, ChannelSpec, ChannelState
from hub.errors import ConfigError
from hub.settings import read_channel_settings

__all__ = ["DiscoveredChannel", "build_channels", "discover_channels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiscoveredChannel:
    """A channel package and, when configured, its built channel."""

    spec: ChannelSpec[Any]
    channel: Channel[Any] | None

    @property
    def enabled(self) -> bool:
        return self.channel is not None


def discover_channels() -> list[ChannelSpec[Any]]:
    """Every ``channels.<name>`` package that exports a ChannelSpec as ``CHANNEL``, by name."""
    specs: list[ChannelSpec[Any]] = []
    for module in pkgutil.iter_modules(channels.__path__):
        if not module.ispkg or module.name.startswith("_"):
            continue
        package = importlib.import_module(f"channels.{module.name}")
        spec = getattr(package, "CHANNEL", None)
        if not isinstance(spec, ChannelSpec):
            continue
        if spec.name != module.name:
            raise ConfigError(
                f"channels.{module.name}", f"CHANNEL.name is {spec.name!r}, expected the folder name"
            )
        specs.append(spec)
    return sorted(specs, key=lambda s: s.name)


def build_channels(
    context: ChannelContext,
    env: Mapping[str, str] | None = None,
    state_for: Callable[[str], ChannelState] | None = None,
) -> list[DiscoveredChannel]:
    """Read each channel's settings and build the enabled ones; ConfigError names a bad setting.

    ``state_for(name)`` gives each channel its own durable state in its context.
    """
    found: list[DiscoveredChannel] = []
    for spec in discover_channels():
        settings = read_channel_settings(spec, env)
        own = context if state_for is None else replace(context, state=state_for(spec.name))
        channel = None if settings is None else spec.build(spec.name, settings, own)
        log.info("channel %s %s", spec.name, "enabled" if channel else "disabled (not configured)")
        found.append(DiscoveredChannel(spec, channel))
    return found
