"""The switchboard command: migrate, demo, user create, token create, and serve --demo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    full_env.update({"SWITCHBOARD_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_demo_user_and_token(tmp_path: Path) -> None:
    assert _run(tmp_path / "fresh", "migrate").stdout.strip() == "database is up to date"  # dir made
    assert _run(tmp_path, "migrate").stdout.strip() == "database is up to date"
    first = _run(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "Demo data loaded." in first.stdout and "Sign in as" in first.stdout
    again = _run(tmp_path, "demo")
    assert "already present" in again.stdout
    created = _run(
        tmp_path, "user", "create", "--email", "noa@example.com", "--name", "Noa", "--role", "supervisor",
        SWITCHBOARD_NEW_PASSWORD="long-enough-password",
    )  # fmt: skip
    assert created.returncode == 0 and "created supervisor noa@example.com" in created.stdout
    token = _run(tmp_path, "token", "create", "--role", "agent").stdout.strip()
    assert token.startswith("sb_") and len(token) > 30


def test_bad_setting_stops_the_command_naming_it(tmp_path: Path) -> None:
    result = _run(tmp_path, "migrate", SWITCHBOARD_PORT="not-a-port")
    assert result.returncode == 2
    assert "SWITCHBOARD_PORT" in result.stderr


def test_serve_demo_starts_with_data_and_prints_where_to_sign_in(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    tmp_path = tmp_path / "not-yet-there"  # a fresh clone has no ./var
    env.update({"SWITCHBOARD_DATA_DIR": str(tmp_path), "SWITCHBOARD_PORT": str(port)})
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    ready = response.status == 200
            except OSError:
                time.sleep(0.2)
        assert ready, "hub did not become ready"
        token = (tmp_path / "demo-token").read_text().strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/contacts?limit=100", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 200
            contacts = json.loads(response.read())["items"]
        assert len(contacts) >= 10  # the demo's customers
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Sign in as" in output and f"http://localhost:{port}/" in output
    assert (tmp_path / "switchboard.db").exists()
