"""The switchboard command: migrate, demo, user create, token create, and serve --demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.hub.processes import ROOT, free_port, start_hub

pytestmark = pytest.mark.slow


def _run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    # Models off unless a test turns them on: the demo would otherwise embed the whole knowledge base.
    full_env.update({"SWITCHBOARD_DATA_DIR": str(data_dir), "SWITCHBOARD_MODELS": "false", **env})
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


async def test_serve_demo_starts_with_data_and_prints_where_to_sign_in(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "not-yet-there"  # a fresh clone has no ./var
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    process = await start_hub(env, port, "--demo", stdout=subprocess.PIPE)
    try:
        token = (data_dir / "demo-token").read_text().strip()
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/api/v1/contacts?limit=100",
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            assert response.status == 200
            contacts = (await response.json())["items"]
        assert len(contacts) >= 10  # the demo's customers
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Sign in as" in output and f"http://localhost:{port}/" in output
    assert (data_dir / "switchboard.db").exists()


def test_kb_import_creates_then_updates_in_place_and_reports_bad_files(
    tmp_path: Path, model_home: Path
) -> None:
    folder = tmp_path / "kb" / "articles"
    folder.mkdir(parents=True)
    source = ROOT / "tests" / "data" / "kb" / "articles"
    for name in ("router-restart.md", "router-restart-he.md"):
        (folder / name).write_bytes((source / name).read_bytes())
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    env = {"SWITCHBOARD_MODELS": "true", "SWITCHBOARD_MODEL_HOME": str(model_home)}

    first = _run(tmp_path, "kb", "import", str(tmp_path / "kb"), **env)
    assert first.returncode == 1, first.stderr
    assert "2 created, 0 updated, 0 unchanged, 0 scripts, 1 failed" in first.stdout
    assert "broken.md" in first.stderr

    (folder / "broken.md").unlink()
    edited = (folder / "router-restart.md").read_text(encoding="utf-8") + "\nCall us if it still fails.\n"
    (folder / "router-restart.md").write_text(edited, encoding="utf-8")
    again = _run(tmp_path, "kb", "import", str(tmp_path / "kb"), **env)
    assert again.returncode == 0, again.stderr
    assert "0 created, 1 updated, 1 unchanged" in again.stdout
