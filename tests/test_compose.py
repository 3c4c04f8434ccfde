"""docker-compose.yml describes the scaled deployment and sets only settings the hub reads.

No Docker engine runs here, so the file is checked as data: the services exist, the hub scales and waits
for its storage and the migration, and every ``SWITCHBOARD_*`` name it sets is read by the hub or by a
discovered channel (a misspelt setting would otherwise be ignored in silence).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.registry import discover_channels
from hub.settings import ENV_PREFIX, HubSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICES = ("postgres", "redis", "migrate", "hub")
SCALE_OUT_SETTINGS = ("SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_REDIS_URL")
# Read by hub.settings besides HubSettings' fields: the TOML file with more settings.
OTHER_HUB_SETTINGS = frozenset({f"{ENV_PREFIX}CONFIG"})


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def known_settings() -> set[str]:
    """Every SWITCHBOARD_* name the hub reads: its own settings and each discovered channel's."""
    names = {f"{ENV_PREFIX}{field.upper()}" for field in HubSettings.model_fields} | OTHER_HUB_SETTINGS
    for spec in discover_channels():
        prefix = f"{ENV_PREFIX}{spec.env_prefix}_"
        names |= {prefix + field.name.upper() for field in dataclasses.fields(spec.settings)}
    return names


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's environment, from either of compose's forms (a mapping or a list of NAME=value)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {name: value for name, _, value in (str(item).partition("=") for item in env)}
    return {str(name): None if value is None else str(value) for name, value in env.items()}


def depends_on(service: dict[str, Any]) -> set[str]:
    needs = service.get("depends_on") or []
    return set(needs)  # a list of names, or a mapping of name -> condition


def test_the_services_of_the_scaled_deployment_exist(compose: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(compose["services"])


def test_the_hub_scales_out_once_storage_and_schema_are_ready(compose: dict[str, Any]) -> None:
    services = compose["services"]
    hub = services["hub"]
    assert int(hub["deploy"]["replicas"]) >= 2
    assert {"postgres", "redis", "migrate"} <= depends_on(hub)
    assert hub["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "serve" in hub["command"]
    assert "migrate" in services["migrate"]["command"]
    assert {"postgres", "redis"} <= depends_on(services["migrate"])
    assert environment(hub)["SWITCHBOARD_HOST"] == "0.0.0.0"  # noqa: S104 (in a container, on purpose)


@pytest.mark.parametrize("name", ["hub", "migrate"])
def test_every_process_is_set_for_scale_out(compose: dict[str, Any], name: str) -> None:
    env = environment(compose["services"][name])
    for setting in SCALE_OUT_SETTINGS:
        assert env.get(setting), f"{name} does not set {setting}"
    assert str(env["SWITCHBOARD_DATABASE_URL"]).startswith("postgresql+asyncpg://")
    assert str(env["SWITCHBOARD_REDIS_URL"]).startswith("redis://redis:6379/")


def test_every_setting_the_file_sets_is_read_by_the_hub(compose: dict[str, Any]) -> None:
    known = known_settings()
    unknown = sorted(
        f"{service}: {setting}"
        for service, definition in compose["services"].items()
        for setting in environment(definition)
        if setting.startswith(ENV_PREFIX) and setting not in known
    )
    assert not unknown, "docker-compose.yml sets settings nothing reads:\n" + "\n".join(unknown)


def test_known_settings_include_the_api_channel() -> None:
    known = known_settings()
    assert {"SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_REDIS_URL", "SWITCHBOARD_PUBLIC_URL"} <= known
    assert {"SWITCHBOARD_API_SECRET", "SWITCHBOARD_API_CALLBACK_URL"} <= known


def test_the_image_runs_the_hub() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    assert 'CMD ["switchboard", "serve"]' in dockerfile
