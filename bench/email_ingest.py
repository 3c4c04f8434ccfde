"""Email ingest benchmark: the email corpus, repeated, through the hub's SMTP receiver.

Starts ``python -m hub serve`` on a temporary SQLite store (models off) with the email channel's receiver
on a free loopback port, sends ``../shared/corpus/email`` repeated to ``--messages`` (each copy with
unique Message-IDs) over SMTP from ``--sessions`` concurrent connections, and prints messages/s and how
many interactions and kept-aside messages were stored. The receiver answers 250 only once a message is
committed, so the rate is of stored mail. Run ``.venv/bin/python bench/email_ingest.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import aiosmtplib

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "email"
ADDRESS = "support@bench.example"
_MESSAGE_ID = re.compile(rb"^(Message-I[Dd]:\s*<)", re.MULTILINE | re.IGNORECASE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_of(raw: bytes, n: int) -> bytes:
    """Copy ``n`` of a message: its own Message-ID (and bytes, for mail without one)."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    head = _MESSAGE_ID.sub(rb"\g<1>bench" + str(n).encode() + b".", head, count=1)
    return b"X-Bench-Copy: " + str(n).encode() + b"\r\n" + head + sep + body


def workload(total: int) -> list[bytes]:
    corpus = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    if not corpus:
        raise SystemExit(f"no corpus at {CORPUS}")
    return [copy_of(corpus[i % len(corpus)], i // len(corpus)) for i in range(total)]


async def _session(port: int, queue: asyncio.Queue[bytes], failures: list[str]) -> None:
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, local_hostname="bench.client", start_tls=False, timeout=120
    ) as client:
        while True:
            try:
                raw = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                await client.sendmail("relay@bench.client", [ADDRESS], raw)
            except aiosmtplib.SMTPResponseException as err:
                failures.append(f"{err.code} {err.message}")


async def feed(port: int, messages: list[bytes], sessions: int) -> tuple[float, list[str]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in messages:
        queue.put_nowait(raw)
    failures: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_session(port, queue, failures) for _ in range(sessions)))
    return time.perf_counter() - started, failures


def _wait_ready(http_port: int, smtp_port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the hub exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    with socket.create_connection(("127.0.0.1", smtp_port), timeout=2):
                        return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the hub did not become ready")


def count(database: Path) -> tuple[int, int]:
    with sqlite3.connect(database) as conn:
        stored = conn.execute("SELECT count(*) FROM interactions WHERE channel = 'email'").fetchone()[0]
        kept = conn.execute("SELECT count(*) FROM kept_aside WHERE channel = 'email'").fetchone()[0]
    return int(stored), int(kept)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages to send (default 2000)")
    parser.add_argument("--sessions", type=int, default=4, help="concurrent SMTP sessions (default 4)")
    args = parser.parse_args(argv)
    messages = workload(args.messages)
    http_port, smtp_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="sb-email-bench-") as data_dir:
        env = {
            **os.environ,
            "SWITCHBOARD_DATA_DIR": data_dir,
            "SWITCHBOARD_PORT": str(http_port),
            "SWITCHBOARD_MODELS": "false",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            "SWITCHBOARD_EMAIL_ADDRESS": ADDRESS,
            "SWITCHBOARD_EMAIL_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
        }
        env.pop("SWITCHBOARD_DATABASE_URL", None)
        env.pop("SWITCHBOARD_REDIS_URL", None)
        hub = subprocess.Popen([sys.executable, "-m", "hub", "serve"], cwd=REPO_ROOT, env=env)
        try:
            _wait_ready(http_port, smtp_port, hub, timeout=120)
            elapsed, failures = asyncio.run(feed(smtp_port, messages, args.sessions))
        finally:
            hub.terminate()
            hub.wait(timeout=60)
        stored, kept = count(Path(data_dir) / "switchboard.db")
    print(f"messages sent:        {len(messages)} over {args.sessions} SMTP sessions")
    print(f"elapsed:              {elapsed:.2f} s")
    print(f"throughput:           {len(messages) / elapsed:.1f} messages/s (250 = committed)")
    print(f"interactions stored:  {stored}")
    print(f"kept aside:           {kept}")
    print(f"refused (4xx/5xx):    {len(failures)}" + (f"  first: {failures[0]}" if failures else ""))
    return 0 if not failures and stored + kept == len(messages) else 1


if __name__ == "__main__":
    raise SystemExit(main())
