"""A hub process killed with SIGKILL while messages arrive loses none that it acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from channels.api.parse import sign
from crm_core.db import open_database
from crm_core.models import Interaction
from tests.hub.conftest import API_SECRET
from tests.hub.processes import free_port, start_hub

pytestmark = pytest.mark.slow


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
    port: int, process: subprocess.Popen[str], kill_after: int
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
    port = free_port()
    process = await start_hub({**os.environ, **env}, port, stdout=subprocess.DEVNULL)
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
    process = await start_hub({**os.environ, **env}, port, stdout=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            sample = sorted(acked)[:50]
            answers = await asyncio.gather(*(_post(session, port, m) for m in sample))
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert all(a is not None and a["duplicate"] for a in answers)
