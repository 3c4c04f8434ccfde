"""Starting a real hub process for tests that need one (crashes, the CLI)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_hub(env: Mapping[str, str], port: int, *args: str, **popen: object) -> subprocess.Popen[str]:
    """Run ``python -m hub serve [args]`` on ``port`` with exactly ``env``; return once /readyz answers."""
    full_env = {
        "SWITCHBOARD_MODELS": "false",
        **env,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_HOST": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", *args],
        cwd=ROOT,
        env=full_env,
        text=True,
        **popen,  # type: ignore[call-overload]
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(f"hub exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("hub did not become ready")
