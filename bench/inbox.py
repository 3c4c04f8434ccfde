"""Inbox benchmark: the first page of ``GET /api/v1/conversations`` with 100,000 conversations, per filter.

Seeds a fresh database through the project's migrations (PostgreSQL: database ``bench_inbox``, created and
dropped here, rows loaded with asyncpg's COPY; SQLite: a temporary file), starts a hub app on a loopback
port, and times each filter combination over real HTTP with an agent's token: median and p95 of
``--requests`` requests each, after a few unmeasured ones. ``--explain`` prints PostgreSQL's plan of each.

    .venv/bin/python bench/inbox.py                       # PostgreSQL, then SQLite; 100,000 conversations
    .venv/bin/python bench/inbox.py --database postgresql --explain
    .venv/bin/python bench/inbox.py --conversations 20000 --requests 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy import event, insert, text

# The repository first: run as a script, bench/ itself would come first and its knowledge.py would shadow
# the knowledge package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_core.accounts import create_agent, create_token
from crm_core.conversations import NOBODY, list_conversations
from crm_core.db import Base, Database, new_id, open_database, table
from crm_core.models import Role, Tag, Team
from hub.app import create_app
from hub.schema import migrate_all
from hub.settings import load_settings

NOW = datetime.now(UTC).replace(microsecond=0)
CHANNELS = {"whatsapp_cloud": 30, "twilio_sms": 20, "email": 20, "webchat": 15, "telegram": 8, "api": 7}
STATUSES = {"open": 15, "pending": 5, "resolved": 65, "closed": 15}
TAGS = {"billing": 0.20, "technical": 0.15, "sales": 0.08, "complaint": 0.05, "vip": 0.03, "churn-risk": 0.01}
TEAMS = ["Support", "Billing", "Sales", "Retention", "Tier 2"]
AGENTS = 40


@dataclass
class Seed:
    """The rows to load, generated once, and the ids the queries need."""

    agent_ids: list[uuid.UUID] = field(default_factory=list)
    team_ids: list[uuid.UUID] = field(default_factory=list)
    tag_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    conversation_tags: list[tuple[Any, ...]] = field(default_factory=list)
    reads: list[tuple[Any, ...]] = field(default_factory=list)


CONTACT_COLUMNS = ("id", "display_name", "email", "phone", "language", "created_at", "updated_at")
CONVERSATION_COLUMNS = (
    "id", "contact_id", "channel", "account", "thread_key", "status", "subject", "assignee_id", "team_id",
    "priority", "opened_at", "last_message_at", "closed_at",
)  # fmt: skip
READ_COLUMNS = ("agent_id", "conversation_id", "read_at", "read_through")


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(seed: Seed, conversations: int) -> None:
    """Contacts (one per two conversations), conversations spread over a year, tags, and the reading
    agent's reads: most of the live queue read (some since written to again), a fifth of the history."""
    rng = random.Random(5)
    contacts = [new_id() for _ in range(max(1, conversations // 2))]
    for n, contact_id in enumerate(contacts):
        seed.contacts.append(
            (contact_id, f"Customer {n}", f"c{n}@bench.example", f"+1555{n:07d}", "en", NOW, NOW)
        )
    reader = seed.agent_ids[0]
    for n in range(conversations):
        conversation_id, status = new_id(), _pick(rng, STATUSES)
        last = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        live = status in ("open", "pending")
        assignee = None if rng.random() < (0.4 if live else 0.05) else rng.choice(seed.agent_ids)
        team = None if rng.random() < 0.2 else rng.choice(seed.team_ids)
        seed.conversations.append(
            (conversation_id, rng.choice(contacts), _pick(rng, CHANNELS), "main", f"thread-{n}", status,
             None, assignee, team, 0, last - timedelta(hours=2), last, None if live else last)
        )  # fmt: skip
        for name, share in TAGS.items():
            if rng.random() < share:
                seed.conversation_tags.append((conversation_id, seed.tag_ids[name]))
        if rng.random() < (0.9 if live else 0.2):
            through = last if rng.random() < 0.85 else last - timedelta(minutes=30)
            seed.reads.append((reader, conversation_id, NOW, through))


async def _base_rows(db: Database, seed: Seed) -> str:
    """Agents (the first one reads), teams and tags through the CRM; the reading agent's token."""
    async with db.writer.begin() as conn:
        for n in range(AGENTS):
            agent = await create_agent(
                conn,
                name=f"Agent {n}",
                email=f"agent{n}@bench.example",
                role=Role.AGENT,
                password=None,
                now=NOW,
            )
            seed.agent_ids.append(agent.id)
        seed.team_ids = [new_id() for _ in TEAMS]
        await conn.execute(
            insert(table(Team)), [{"id": i, "name": n} for i, n in zip(seed.team_ids, TEAMS, strict=True)]
        )
        seed.tag_ids = {name: new_id() for name in TAGS}
        await conn.execute(insert(table(Tag)), [{"id": i, "name": n} for n, i in seed.tag_ids.items()])
        token, _ = await create_token(
            conn, name="bench", role=Role.AGENT, agent_id=seed.agent_ids[0], now=NOW
        )
    return token


LOADS = (
    ("contacts", CONTACT_COLUMNS, "contacts"),
    ("conversations", CONVERSATION_COLUMNS, "conversations"),
    ("conversation_tags", ("conversation_id", "tag_id"), "conversation_tags"),
    ("conversation_reads", READ_COLUMNS, "reads"),
)


async def load_postgres(dsn: str, seed: Seed) -> None:
    """COPY every generated row, then VACUUM ANALYZE: what autovacuum has done to a live database (the
    planner's statistics, and the visibility map that lets counts read the index alone)."""
    conn = await asyncpg.connect(dsn)
    try:
        for name, columns, attr in LOADS:
            await conn.copy_records_to_table(name, records=getattr(seed, attr), columns=list(columns))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def load_sqlite(db: Database, seed: Seed) -> None:
    """Insert every generated row (executemany), then ANALYZE."""
    async with db.writer.begin() as conn:
        for name, columns, attr in LOADS:
            tbl = Base.metadata.tables[name]
            rows = [dict(zip(columns, row, strict=True)) for row in getattr(seed, attr)]
            for start in range(0, len(rows), 20_000):
                await conn.execute(insert(tbl), rows[start : start + 20_000])
        await conn.execute(text("ANALYZE"))


def combinations(seed: Seed) -> list[tuple[str, dict[str, str]]]:
    """The filter combinations timed: what agents click, plus a few harder ones."""
    team = str(seed.team_ids[1])
    return [
        ("everything", {}),
        ("status=open", {"status": "open"}),
        ("open, assignee=me", {"status": "open", "assignee": "me"}),
        ("open, assignee=none", {"status": "open", "assignee": "none"}),
        ("open, channel=telegram", {"status": "open", "channel": "telegram"}),
        ("open, team", {"status": "open", "team": team}),
        ("open, team=none", {"status": "open", "team": "none"}),
        ("open, tag=billing", {"status": "open", "tag": "billing"}),
        ("open, tag=vip", {"status": "open", "tag": "vip"}),
        ("open, tag=churn-risk", {"status": "open", "tag": "churn-risk"}),
        ("open, unread", {"status": "open", "unread": "true"}),
        ("open, me, unread", {"status": "open", "assignee": "me", "unread": "true"}),
        ("unread (any status)", {"unread": "true"}),
        ("channel=email (any status)", {"channel": "email"}),
        ("tag=vip (any status)", {"tag": "vip"}),
        (
            "resolved, email, team, tag",
            {"status": "resolved", "channel": "email", "team": team, "tag": "vip"},
        ),
    ]


@contextlib.asynccontextmanager
async def running_hub(url: str, data_dir: Path) -> AsyncIterator[str]:
    """A hub app on a free loopback port; yields its base URL."""
    env = {
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_AUTO_MIGRATE": "false",
        "SWITCHBOARD_MODELS": "false",
        "SWITCHBOARD_API_SECRET": "bench-inbox",
    }
    runner = web.AppRunner(create_app(load_settings(env), env), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _timed(session: aiohttp.ClientSession, url: str, count: int) -> tuple[list[float], int]:
    latencies, items = [], 0
    for n in range(count + 3):
        started = time.perf_counter()
        async with session.get(url) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"{url}: {response.status} {body}")
        if n >= 3:  # the first few warm caches and connections
            latencies.append((time.perf_counter() - started) * 1000)
        items = len(body.get("items", ())) if isinstance(body, dict) else 0
    return latencies, items


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


async def measure(base: str, token: str, seed: Seed, requests: int) -> list[tuple[str, float, float, int]]:
    """(label, median ms, p95 ms, items on the page) per filter combination, then counts and a deep page."""
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for label, query in combinations(seed):
            url = f"{base}/api/v1/conversations?" + "&".join(f"{k}={v}" for k, v in query.items())
            latencies, items = await _timed(session, url, requests)
            results.append((label, statistics.median(latencies), _p95(latencies), items))
        latencies, _ = await _timed(session, f"{base}/api/v1/conversations/counts", requests)
        results.append(("GET /conversations/counts", statistics.median(latencies), _p95(latencies), 0))
        url, page = f"{base}/api/v1/conversations?status=open", 1
        while page < 21:  # follow `next` to the 21st page (or the last)
            async with session.get(url) as response:
                after = (await response.json())["next"]
            if after is None:
                break
            url, page = f"{base}/api/v1/conversations?{after}", page + 1
        latencies, items = await _timed(session, url, requests)
        label = f"status=open, page {page} (cursor)"
        results.append((label, statistics.median(latencies), _p95(latencies), items))
    return results


async def explain(db: Database, seed: Seed) -> None:
    """PostgreSQL's plan (EXPLAIN ANALYZE) of each combination's first page, as list_conversations runs it."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(db.reader.sync_engine, "before_cursor_execute", capture)
    reader = seed.agent_ids[0]
    for label, query in combinations(seed):
        kwargs: dict[str, Any] = {"reader_id": reader, "limit": 51}
        for key, value in query.items():
            if key in ("status", "channel"):
                kwargs[key] = value
            elif key == "assignee":
                kwargs["assignee_id"] = {"me": reader, "none": NOBODY}.get(value) or uuid.UUID(value)
            elif key == "team":
                kwargs["team_id"] = NOBODY if value == "none" else uuid.UUID(value)
            elif key == "tag":
                kwargs["tag_id"] = seed.tag_ids[value]
            elif key == "unread":
                kwargs["unread_only"] = True
        async with db.reader.connect() as conn:
            captured.clear()
            await list_conversations(conn, **kwargs)
            statement, parameters = captured[0]
            plan = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", parameters)
            print(f"\n-- {label}")
            print("\n".join(row[0] for row in plan))
    event.remove(db.reader.sync_engine, "before_cursor_execute", capture)


def print_table(name: str, conversations: int, results: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{name}, {conversations:,} conversations; first page (limit 50) over HTTP:\n")
    print("| filter | median ms | p95 ms | items |")
    print("|---|---:|---:|---:|")
    for label, median, p95, items in results:
        print(f"| {label} | {median:.1f} | {p95:.1f} | {items} |")


@contextlib.contextmanager
def _stopwatch(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"{what}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


async def bench_postgres(args: argparse.Namespace) -> None:
    admin = args.pg_admin_url
    server = await asyncpg.connect(admin)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)')
        await server.execute(f'CREATE DATABASE "{args.pg_database}"')
        dsn = admin.rsplit("/", 1)[0] + f"/{args.pg_database}"
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        db = open_database(url)
        try:
            with _stopwatch("migrate + seed PostgreSQL"):
                await migrate_all(db.writer)
                seed = Seed()
                token = await _base_rows(db, seed)
                generate(seed, args.conversations)
                await load_postgres(dsn, seed)
            if args.explain:
                await explain(db, seed)
            with tempfile.TemporaryDirectory() as data_dir:
                async with running_hub(url, Path(data_dir)) as base:
                    results = await measure(base, token, seed, args.requests)
        finally:
            await db.dispose()
        print_table("PostgreSQL", args.conversations, results)
    finally:
        if not args.keep:
            await server.execute(f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)')
        await server.close()


async def bench_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite+aiosqlite:///{Path(data_dir) / 'switchboard.db'}"
        db = open_database(url)
        try:
            with _stopwatch("migrate + seed SQLite"):
                await migrate_all(db.writer)
                seed = Seed()
                token = await _base_rows(db, seed)
                generate(seed, args.conversations)
                await load_sqlite(db, seed)
        finally:
            await db.dispose()
        async with running_hub(url, Path(data_dir)) as base:
            results = await measure(base, token, seed, args.requests)
    print_table("SQLite", args.conversations, results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per combination")
    parser.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-database", default="bench_inbox")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL database in place")
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plan of each combination")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {NOW:%Y-%m-%d}")
    if args.database in ("postgresql", "both"):
        asyncio.run(bench_postgres(args))
    if args.database in ("sqlite", "both"):
        asyncio.run(bench_sqlite(args))


if __name__ == "__main__":
    main()
