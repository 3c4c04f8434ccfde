"""A hub process killed with SIGKILL while messages arrive loses none that it acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from channels.api.parse import sign
from crm_core.db import open_database
from crm_core.models import Interaction
from tests.hub.conftest import API_SECRET

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_hub(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **env, "SWITCHBOARD_PORT": str(port), "SWITCHBOARD_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
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


async def _post(session: aiohttp.ClientSession, port: int, message_id: str) -> dict[str, Any] | None:
    body = json.dumps(
        {"message_id": message_id, "sender": {"id": f"s-{hash(message_id) % 50}"}, "text": "hi"}
    )
    headers = {"X-Switchboard-Signature": sign(API_SECRET, body.encode()), "Content-Type": "application/json"}
    try:
        async with session.post(
            f"http://127.0.0.1:{port}/webhooks/api", data=body, headers=headers
        ) as response:
            if response.status != 200:
                return None
            result: dict[str, Any] = await response.json()
            return result
    except (aiohttp.ClientError, ConnectionError):
        return None


async def _send_until_killed(
    port: int, process: subprocess.Popen[bytes], kill_after: int
) -> tuple[set[str], int]:
    acked: set[str] = set()
    sent = 0

    async def worker(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal sent
        for n in range(10_000):
            if process.poll() is not None:
                return
            message_id = f"crash-{index}-{n}"
            sent += 1
            if await _post(session, port, message_id) is not None:
                acked.add(message_id)
                if len(acked) == kill_after:
                    os.kill(process.pid, signal.SIGKILL)

    async with aiohttp.ClientSession() as session:
        await asyncio.wait_for(asyncio.gather(*(worker(i, session) for i in range(24))), timeout=60)
    return acked, sent


async def test_sigkill_loses_no_acknowledged_message(runtime: dict[str, str]) -> None:
    env = runtime
    port = _free_port()
    process = await _start_hub(env, port)
    try:
        acked, sent = await _send_until_killed(port, process, kill_after=400)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(acked) >= 400 and sent > len(acked)  # the kill came while requests were in flight

    db = open_database(env["SWITCHBOARD_DATABASE_URL"])
    try:
        async with db.reader.connect() as conn:
            rows = await conn.execute(
                select(Interaction.external_message_id).where(Interaction.channel == "api")
            )
            stored = {r[0] for r in rows}
    finally:
        await db.dispose()
    assert acked <= stored, f"{len(acked - stored)} acknowledged messages were lost"

    # After a restart, every acknowledged message is known (answered as a duplicate).
    process = await _start_hub(env, port)
    try:
        async with aiohttp.ClientSession() as session:
            sample = sorted(acked)[:50]
            answers = await asyncio.gather(*(_post(session, port, m) for m in sample))
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert all(a is not None and a["duplicate"] for a in answers)
