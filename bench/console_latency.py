"""Console latency: a message POSTed to the API channel's webhook, until an open ``/ws/console`` socket
delivers its ``interaction.created`` event.

Starts a hub (``python -m hub migrate``, then ``python -m hub serve``) on a fresh data directory (and, with
``--database postgresql``, a fresh PostgreSQL database; with ``--redis-url``, console fan-out through Redis),
opens the console socket with an agent's token, then sends ``--messages`` signed messages one after another
(a short pause between them, so each one travels alone) and prints the median, p95 and max of:

- ack: from writing the request to reading the hub's 200 (the message is committed);
- socket: from writing the request to the socket frame naming the stored interaction.

    .venv/bin/python bench/console_latency.py
    .venv/bin/python bench/console_latency.py --database postgresql --redis-url redis://127.0.0.1:6379/14
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

# The repository first: run as a script, bench/ itself would come first and its knowledge.py would shadow
# the knowledge package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import BenchError, free_port, fresh_postgres_database, migrate, running_server
from crm_core.accounts import create_agent, create_token
from crm_core.db import open_database
from crm_core.models import Role


def _signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Switchboard-Signature": f"sha256={digest}"}


async def _agent_token(database_url: str) -> str:
    db = open_database(database_url)
    try:
        async with db.writer.begin() as conn:
            now = datetime.now(UTC)
            agent = await create_agent(
                conn, name="Bench Agent", email="bench@example.com", role=Role.AGENT, password=None, now=now
            )
            token, _ = await create_token(
                conn, name="console-bench", role=Role.AGENT, agent_id=agent.id, now=now
            )
    finally:
        await db.dispose()
    return token


class Watcher:
    """Reads the console socket and notes when each interaction's event arrived."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.arrived = asyncio.Event()

    async def read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            at = time.perf_counter()
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            frame = orjson.loads(message.data)
            for event in frame.get("events", ()):
                if event.get("name") == "interaction.created":
                    self.seen.setdefault(event["payload"]["interaction_id"], at)
            self.arrived.set()

    async def wait_for(self, interaction_id: str) -> float:
        """When the event of this interaction arrived (perf_counter)."""
        while interaction_id not in self.seen:
            self.arrived.clear()
            await self.arrived.wait()
        return self.seen[interaction_id]


async def measure(base: str, secret: str, token: str, messages: int, pause: float) -> dict[str, list[float]]:
    """Send the messages one by one; ack and socket latencies in ms (after 10 unmeasured ones)."""
    acks: list[float] = []
    delivered: list[float] = []
    watcher = Watcher()
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/ws/console", headers=headers) as ws,
    ):
        hello = orjson.loads((await ws.receive()).data)
        if hello.get("type") != "hello":
            raise BenchError(f"the console socket did not say hello: {hello}")
        reader = asyncio.create_task(watcher.read(ws))
        try:
            run = secrets.token_hex(4)
            for n in range(messages + 10):
                body = orjson.dumps(
                    {
                        "message_id": f"latency-{run}-{n}",
                        "sender": {"id": f"latency-{run}-{n % 20}", "name": f"Latency {n % 20}"},
                        "text": f"Is anyone there? ({n})",
                    }
                )
                started = time.perf_counter()
                async with session.post(
                    f"{base}/webhooks/api", data=body, headers=_signed(secret, body)
                ) as answer:
                    stored = await answer.json()
                    acked = time.perf_counter()
                    if answer.status != 200:
                        raise BenchError(f"webhook answered {answer.status}: {stored}")
                try:
                    async with asyncio.timeout(10.0):
                        arrived = await watcher.wait_for(stored["interaction_id"])
                except TimeoutError as err:
                    raise BenchError(f"no event for {stored['interaction_id']} within 10 s") from err
                if n >= 10:
                    acks.append((acked - started) * 1000)
                    delivered.append((arrived - started) * 1000)
                await asyncio.sleep(pause)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    return {"ack": acks, "socket": delivered}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


@contextlib.contextmanager
def started_hub(args: argparse.Namespace, work_dir: Path, secret: str) -> Iterator[tuple[str, str]]:
    """A hub on a free port: (base URL, its database URL)."""
    with contextlib.ExitStack() as stack:
        data_dir = work_dir / "hub-data"
        data_dir.mkdir()
        if args.database == "postgresql":
            database_url = stack.enter_context(fresh_postgres_database(args.pg_admin_url))
        else:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}"
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
        env |= {
            "SWITCHBOARD_HOST": "127.0.0.1",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_API_SECRET": secret,
            "SWITCHBOARD_MODELS": "false",
        }
        if args.redis_url:
            env["SWITCHBOARD_REDIS_URL"] = args.redis_url
        log_path = work_dir / "hub.log"
        migrate(env, log_path)
        argv = [sys.executable, "-m", "hub", "serve"]
        stack.enter_context(running_server(argv, env, log_path, port, 60.0))
        yield f"http://127.0.0.1:{port}", database_url


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between messages (default 0.02)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", help="route the bus and console fan-out through this Redis")
    args = parser.parse_args()
    secret = secrets.token_hex(16)
    runtime = args.database + (" + Redis" if args.redis_url else "")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {runtime}")
    try:
        with tempfile.TemporaryDirectory() as work, started_hub(args, Path(work), secret) as (base, url):
            token = asyncio.run(_agent_token(url))
            figures = asyncio.run(measure(base, secret, token, args.messages, args.pause))
    except BenchError as err:
        print(f"could not run: {err}", file=sys.stderr)
        return 2
    print(f"\n{args.messages} messages, one at a time:\n")
    print("| from the webhook POST to | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, label in (("ack", "the hub's 200 (stored)"), ("socket", "the event on /ws/console")):
        values = figures[name]
        print(f"| {label} | {statistics.median(values):.1f} | {_p95(values):.1f} | {max(values):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
