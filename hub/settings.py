"""The one typed reader of settings: environment variables, then the TOML file named by SWITCHBOARD_CONFIG.

Fails at start with a :class:`~hub.errors.ConfigError` that names the bad setting.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.contract import ChannelSpec
from hub.errors import ConfigError

__all__ = ["ENV_PREFIX", "HubSettings", "load_settings", "read_channel_settings"]

ENV_PREFIX = "SWITCHBOARD_"
SettingsT = TypeVar("SettingsT")


class HubSettings(BaseSettings):
    """Settings of the hub itself (channels read their own, see :func:`read_channel_settings`)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("./var")
    database_url: str | None = None
    """SQLAlchemy async URL; unset means a SQLite file in data_dir (the embedded default)."""
    redis_url: str | None = None
    """Redis URL; unset means the in-process bus (the embedded default)."""
    public_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    """FULL survives power loss; NORMAL only a crash of the process."""
    ingest_batch_max: int = Field(default=256, ge=1, le=10_000)
    """Most messages the writer commits in one transaction."""
    auto_migrate: bool | None = None
    """Migrate at start; defaults to on for SQLite, off for a server database."""
    models: bool = True
    """Load the language models and enrich conversations (sentiment, suggestions, the bot)."""
    model_home: Path | None = None
    """Where the packaged model is converted once (``<model_home>/models/``); default: the data directory."""
    encoder_model: str | None = None
    """A Hugging Face model id or local directory instead of the packaged multilingual-e5-small."""
    sentiment_threshold: float = Field(default=-0.5, ge=-1.0, le=1.0)
    """A conversation whose sentiment trend falls below this is flagged and its priority raised."""
    sentiment_drop: float = Field(default=0.8, gt=0.0, le=2.0)
    """A message this far below the conversation's trend flags it too (a sharp drop)."""
    bot_channels: str = ""
    """Comma-separated channels on which the bot answers first (``webchat,telegram``); empty: no bot."""
    bot_threshold: float = Field(default=0.887, ge=-1.0, le=1.0)
    """The retrieval confidence (cosine) the bot needs to answer; chosen on the tuning questions
    by ``bench/knowledge.py`` (see bench/RESULTS.md)."""
    bot_margin: float = Field(default=0.0, ge=0.0, le=2.0)
    """How far the best article must lead the runner-up for the bot to answer."""
    llm_base_url: str | None = None
    """An OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp) that writes replies from the
    retrieved passages; unset: replies are extracted from the best article."""
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=10.0, gt=0, le=120)
    media_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    """Inbound attachments larger than this are not downloaded (the interaction keeps the reason)."""
    media_types: str = "image/*,audio/*,video/*,application/pdf,text/plain,text/vcard,text/x-vcard"
    """Comma-separated content types (``type/*`` wildcards) that are downloaded into storage."""

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'switchboard.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def _env_with_config_file(env: Mapping[str, str]) -> dict[str, str]:
    """Environment variables win over the TOML file; the file's keys are setting names without prefix."""
    merged: dict[str, str] = {}
    config_path = env.get(f"{ENV_PREFIX}CONFIG")
    if config_path:
        try:
            with open(config_path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"{ENV_PREFIX}CONFIG", f"cannot read {config_path}: {err}") from err
        for key, value in data.items():
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    merged[f"{ENV_PREFIX}{key}_{sub_key}".upper()] = _as_env_value(sub_value)
            else:
                merged[f"{ENV_PREFIX}{key}".upper()] = _as_env_value(value)
    merged.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
    return merged


def _as_env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _config_error(err: ValidationError, prefix: str) -> ConfigError:
    first = err.errors()[0]
    field = "_".join(str(part) for part in first["loc"]).upper()
    return ConfigError(f"{prefix}{field}", first["msg"])


def load_settings(env: Mapping[str, str] | None = None) -> HubSettings:
    """Read the hub's settings, raising ConfigError naming the first bad one."""
    values = _env_with_config_file(os.environ if env is None else env)
    fields = {
        name: values[f"{ENV_PREFIX}{name.upper()}"]
        for name in HubSettings.model_fields
        if f"{ENV_PREFIX}{name.upper()}" in values
    }
    try:
        return HubSettings.model_validate(fields)
    except ValidationError as err:
        raise _config_error(err, ENV_PREFIX) from err


def read_channel_settings(
    spec: ChannelSpec[SettingsT], env: Mapping[str, str] | None = None
) -> SettingsT | None:
    """Read a channel's settings dataclass; None when the channel is not configured at all."""
    values = _env_with_config_file(os.environ if env is None else env)
    prefix = f"{ENV_PREFIX}{spec.env_prefix}_"
    # A field named after a Python keyword (``from_``) reads the variable without the underscore.
    names = {f.name: prefix + f.name.rstrip("_").upper() for f in dataclasses.fields(spec.settings)}  # type: ignore[arg-type]
    fields = {name: values[env] for name, env in names.items() if values.get(env, "") != ""}
    present = [name for name in spec.required if name in fields]
    if not present:
        return None
    missing = [name for name in spec.required if name not in fields]
    if missing:
        raise ConfigError(
            names[missing[0]], f"required by channel {spec.name!r} because {names[present[0]]} is set"
        )
    try:
        return TypeAdapter(spec.settings).validate_python(fields)
    except ValidationError as err:
        raise _config_error(err, prefix) from err
