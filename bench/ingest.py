"""Ingest benchmark: how fast the hub acknowledges webhooks, against a bare aiohttp baseline.

``--channel api`` (default) sends signed API-channel JSON; ``--channel twilio_sms`` sends Twilio SMS webhooks
(form bodies signed with ``X-Twilio-Signature`` exactly as Twilio computes it).

Run ``.venv/bin/python bench/ingest.py --help``. See ``bench/README.md`` for what is measured and why.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import http.client
import importlib.util
import math
import multiprocessing
import os
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Iterator, Sequence
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
BARE_HANDLER = Path(__file__).resolve().with_name("bare_handler.py")
WEBHOOK_PATHS = {"api": "/webhooks/api", "twilio_sms": "/webhooks/twilio_sms"}
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_NUMBER = "+14155550100"
ERROR_SAMPLES = 5
STALL_SECONDS = 60.0
"""A phase with no response for this long is aborted; its requests in flight count as errors."""
BARRIER_SECONDS = 300.0
CLIENT_BUSY_WARNING = 0.85
T = TypeVar("T")


class BenchError(Exception):
    """The benchmark could not run (a server did not start, a client process died)."""


# --- requests ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    """What one step sends: where to, signed with what, and how its ids and senders are named."""

    host: str
    port: int
    secret: str
    id_prefix: str
    """``bench-<runid>-c<concurrency>-``, then ``w`` or ``m`` (warm-up, measured), then ``<n>`` or ``s<n>``"""
    senders: int
    channel: str = "api"


def _message_body(message_id: str, sender_prefix: str, sender_number: int, sent_at: str) -> bytes:
    sender: dict[str, str] = {
        "id": f"{sender_prefix}{sender_number}",
        "name": f"Bench Sender {sender_number}",
    }
    if sender_number % 2 == 0:
        sender["email"] = f"sender{sender_number}@bench.example"
    if sender_number % 3 == 0:
        sender["phone"] = f"+1555{sender_number:07d}"
    text = f"Hello, order {message_id[-6:]} has not arrived yet. Can you help me?"
    return orjson.dumps({"message_id": message_id, "sender": sender, "text": text, "sent_at": sent_at})


def _twilio_request(workload: Workload, message_id: str, sender_number: int) -> tuple[bytes, str]:
    """A Twilio inbound-SMS form body and its X-Twilio-Signature (HMAC-SHA1 over URL + sorted fields)."""
    sid = "SM" + hashlib.md5(message_id.encode(), usedforsecurity=False).hexdigest()
    fields = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        # The message id rides in the text, so that what was stored can be counted afterwards.
        "Body": f"Hello, my internet is down again ({message_id}). Can you help?",
        "From": f"+97250{sender_number:07d}",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": TWILIO_NUMBER,
    }
    url = f"http://{workload.host}:{workload.port}{WEBHOOK_PATHS['twilio_sms']}"
    signed = url + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(workload.secret.encode(), signed.encode(), hashlib.sha1).digest()
    return urllib.parse.urlencode(fields).encode(), base64.b64encode(digest).decode()


def _signed_request(workload: Workload, message_id: str, sender: tuple[str, int], sent_at: str) -> bytes:
    path = WEBHOOK_PATHS[workload.channel]
    head = f"POST {path} HTTP/1.1\r\nHost: {workload.host}:{workload.port}\r\n"
    if workload.channel == "twilio_sms":
        body, signature = _twilio_request(workload, message_id, sender[1])
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
        head += f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
        return head.encode() + body
    body = _message_body(message_id, sender[0], sender[1], sent_at)
    signature = hmac.new(workload.secret.encode(), body, hashlib.sha256).hexdigest()
    head += "Content-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\nX-Switchboard-Signature: sha256={signature}\r\n\r\n"
    return head.encode() + body


def build_requests(workload: Workload, phase: str, indices: range) -> list[bytes]:
    """Pre-build whole HTTP/1.1 requests (head, signature and body) for the given message numbers."""
    rng = random.Random(f"{workload.id_prefix}{phase}{indices.start}")
    sent_at = datetime.datetime.now(datetime.UTC).isoformat()
    # Warm-up and measured phases have their own senders, so each measured phase creates the same share
    # of new contacts (about --senders of them) whatever the warm-up did.
    sender_prefix = f"{workload.id_prefix}{phase}s"
    # Twilio senders are phone numbers: the measured phase's are offset from the warm-up's.
    offset = workload.senders if phase == "m" else 0
    requests = []
    for index in indices:
        message_id = f"{workload.id_prefix}{phase}{index}"
        sender = (sender_prefix, offset + rng.randrange(workload.senders))
        requests.append(_signed_request(workload, message_id, sender, sent_at))
    return requests


# --- the client: one process drives a share of the connections -----------------------------------


def parse_response(buffer: bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes consumed) of the first complete response in buffer, or None if incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    if not head.startswith(b"http/1."):
        raise ValueError(f"not an HTTP/1.x response: {head[:40]!r}")
    status = int(head[9:12])
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        stop = head.find(b"\r\n", at + 17)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
    elif b"\r\ntransfer-encoding:" in head:
        raise ValueError("chunked responses are not supported by the benchmark client")
    else:
        length = 0
    total = end + 4 + length
    if len(buffer) < total:
        return None
    return status, bytes(buffer[end + 4 : total]), total


def _ack_problem(status: int, body: bytes) -> str | None:
    """None for an acknowledgement (200 naming a new interaction), else what is wrong with the answer."""
    if status != 200:
        return f"{status}: {body[:200]!r}"
    if body.lstrip().startswith(b"<"):
        # Twilio's webhook is answered with TwiML.
        return None if b"<Response" in body else f"200 with unexpected XML: {body[:200]!r}"
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"200 with a body that is not JSON: {body[:200]!r}"
    if not isinstance(answer, dict) or "interaction_id" not in answer:
        return f"200 without interaction_id: {body[:200]!r}"
    if answer.get("duplicate") is True:
        return f"200 but duplicate for a new message id: {body[:200]!r}"
    return None


class Phase:
    """One phase (warm-up or measured) of one client process: hands out requests and tallies answers."""

    def __init__(self, requests: list[bytes], connections: int, seconds: float | None) -> None:
        self.requests = requests
        self.latencies = array.array("d", bytes(8 * len(requests)))
        self.acked = 0
        self.errors = 0
        self.samples: list[str] = []
        self.started = self.finished = time.monotonic()
        self._seconds = seconds
        self._deadline: float | None = None
        self._next = 0
        self._running = connections
        self._cpu_started = time.process_time()
        self.cpu_seconds = 0.0
        """CPU this client process spent on the phase: near its elapsed time, the client is the bottleneck."""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if connections == 0:
            self.done.set_result(None)

    def begin(self) -> None:
        self._cpu_started = time.process_time()
        self.started = self.finished = time.monotonic()
        if self._seconds is not None:
            self._deadline = self.started + self._seconds

    def next_index(self) -> int:
        index = self._next
        if index >= len(self.requests) or (self._deadline is not None and time.monotonic() >= self._deadline):
            return -1
        self._next = index + 1
        return index

    def record(self, latency: float, problem: str | None) -> None:
        self.finished = time.monotonic()
        if problem is None:
            self.latencies[self.acked] = latency
            self.acked += 1
            return
        self.errors += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(problem)

    def connection_done(self) -> None:
        self._running -= 1
        if self._running == 0 and not self.done.done():
            self.cpu_seconds = time.process_time() - self._cpu_started
            self.done.set_result(None)

    def outcome(self) -> dict[str, Any]:
        """Plain types only: this crosses the process boundary."""
        return {
            "latencies": self.latencies[: self.acked].tobytes(),
            "acked": self.acked,
            "errors": self.errors,
            "samples": self.samples,
            "sent": self._next,
            "exhausted": self._next >= len(self.requests),
            "started": self.started,
            "finished": self.finished,
            "cpu_seconds": self.cpu_seconds,
        }


class Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight; sends the next one from data_received."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._phase: Phase | None = None
        self._sent_at = -1.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def start(self, phase: Phase) -> None:
        self._phase = phase
        if self.closed:
            self._finish()
        else:
            self._send_next()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _finish(self) -> None:
        phase, self._phase = self._phase, None
        if phase is not None:
            phase.connection_done()

    def _send_next(self) -> None:
        phase = self._phase
        index = phase.next_index() if phase is not None and self._transport is not None else -1
        if index < 0:
            self._finish()
            return
        self._sent_at = time.monotonic()
        cast(asyncio.Transport, self._transport).write(cast(Phase, phase).requests[index])

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while self._buffer and self._phase is not None and self._sent_at >= 0:
                parsed = parse_response(self._buffer)
                if parsed is None:
                    return
                status, body, consumed = parsed
                del self._buffer[:consumed]
                self._phase.record(time.monotonic() - self._sent_at, _ack_problem(status, body))
                self._sent_at = -1.0
                self._send_next()
        except ValueError as err:
            self._record_failure(str(err))
            self.abort()

    def _record_failure(self, problem: str) -> None:
        if self._phase is not None and self._sent_at >= 0:
            self._phase.record(0.0, problem)
            self._sent_at = -1.0

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._record_failure(f"connection lost while waiting for the answer: {exc!r}")
        self._finish()


async def _run_phase(connections: list[Connection], requests: list[bytes], seconds: float | None) -> Phase:
    phase = Phase(requests, len(connections), seconds)
    phase.begin()
    for connection in connections:
        connection.start(phase)
    while not phase.done.done():
        progress = phase.acked + phase.errors
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(phase.done), STALL_SECONDS)
        if not phase.done.done() and phase.acked + phase.errors == progress:
            for connection in connections:
                connection.abort()
            await phase.done
    return phase


@dataclasses.dataclass(frozen=True)
class ClientShare:
    """One client process's part of a step."""

    workload: Workload
    connections: int
    warmup: range
    measured: range
    seconds: float | None


async def _drive_share(share: ClientShare, barrier: Barrier) -> dict[str, Any]:
    warmup_requests = build_requests(share.workload, "w", share.warmup)
    measured_requests = build_requests(share.workload, "m", share.measured)
    loop = asyncio.get_running_loop()
    connections: list[Connection] = []
    try:
        for _ in range(share.connections):
            _, connection = await loop.create_connection(Connection, share.workload.host, share.workload.port)
            connections.append(connection)
        # Every process starts each phase together, so the phases overlap in time as one client would.
        await loop.run_in_executor(None, barrier.wait, BARRIER_SECONDS)
        warmup = await _run_phase(connections, warmup_requests, None)
        await loop.run_in_executor(None, barrier.wait, BARRIER_SECONDS)
        measured = await _run_phase(connections, measured_requests, share.seconds)
    finally:
        for connection in connections:
            connection.abort()
    return {"warmup": warmup.outcome(), "measured": measured.outcome()}


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    if importlib.util.find_spec("uvloop") is None:
        return asyncio.new_event_loop
    import uvloop

    return uvloop.new_event_loop


def run_in_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (as the hub does), else on asyncio's loop."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coroutine)


def client_process(share: ClientShare, barrier: Barrier, results: multiprocessing.Queue[Any]) -> None:
    """Entry point of a client process: drive the share, put the outcome (or the failure) on results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it terminates us.
    try:
        results.put(run_in_loop(_drive_share(share, barrier)))
    except BaseException as err:
        barrier.abort()
        results.put({"failed": repr(err)})
        raise


# --- one step: a target at one concurrency, driven by several client processes --------------------


@dataclasses.dataclass(frozen=True)
class Target:
    """A server to drive, and where its stored messages can be counted (None for the bare handler)."""

    name: str
    host: str
    port: int
    database_url: str | None = None
    log_path: Path | None = None


@dataclasses.dataclass
class PhaseStats:
    """A phase's outcomes from every client process, merged."""

    acked: int
    errors: int
    samples: list[str]
    sent: int
    exhausted: bool
    elapsed: float
    latencies: list[float]
    client_busy: float
    """The busiest client process's CPU time over its elapsed time (1.0: the client was the bottleneck)."""

    @classmethod
    def merge(cls, parts: Sequence[dict[str, Any]]) -> PhaseStats:
        latencies: list[float] = []
        for part in parts:
            latencies.extend(array.array("d", part["latencies"]))
        latencies.sort()
        return cls(
            acked=sum(part["acked"] for part in parts),
            errors=sum(part["errors"] for part in parts),
            samples=[sample for part in parts for sample in part["samples"]][:ERROR_SAMPLES],
            sent=sum(part["sent"] for part in parts),
            exhausted=any(part["exhausted"] for part in parts),
            elapsed=max(part["finished"] for part in parts) - min(part["started"] for part in parts),
            latencies=latencies,
            client_busy=max(
                part["cpu_seconds"] / max(part["finished"] - part["started"], 1e-9) for part in parts
            ),
        )

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the acknowledgement latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        rank = max(0, min(len(self.latencies) - 1, math.ceil(fraction * len(self.latencies)) - 1))
        return self.latencies[rank] * 1000


@dataclasses.dataclass
class StepResult:
    """One target at one concurrency."""

    target: str
    concurrency: int
    warmup: PhaseStats
    measured: PhaseStats
    stored: int | None = None

    @property
    def acked(self) -> int:
        return self.warmup.acked + self.measured.acked

    @property
    def errors(self) -> int:
        return self.warmup.errors + self.measured.errors

    @property
    def stored_ok(self) -> bool:
        return self.stored is None or self.stored == self.acked


def split(total: int, weights: Sequence[int]) -> list[range]:
    """Cut range(total) into consecutive ranges proportional to weights."""
    ranges, start, running = [], 0, 0
    for weight in weights:
        running += weight
        stop = total * running // sum(weights)
        ranges.append(range(start, stop))
        start = stop
    return ranges


def _collect(procs: Sequence[multiprocessing.process.BaseProcess], results: Any) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    while len(outcomes) < len(procs):
        try:
            outcome = results.get(timeout=1.0)
        except queue.Empty:
            if all(proc.exitcode is None for proc in procs):
                continue
            # One exited: its outcome or its failure may still be in flight.
            try:
                outcome = results.get(timeout=2.0)
            except queue.Empty:
                raise BenchError("a client process exited without reporting (see above)") from None
        if "failed" in outcome:
            raise BenchError(f"client process failed: {outcome['failed']}")
        outcomes.append(outcome)
    return outcomes


def run_step(target: Target, concurrency: int, options: Options, runid: str) -> StepResult:
    """Drive one target at one concurrency with options.client_procs processes; count what it stored."""
    workload = Workload(
        target.host,
        target.port,
        options.secret,
        f"bench-{runid}-c{concurrency}-",
        options.senders,
        options.channel,
    )
    procs_count = min(options.client_procs, concurrency)
    connections = [len(part) for part in split(concurrency, [1] * procs_count)]
    shares = [
        ClientShare(workload, conns, warmup, measured, options.seconds)
        for conns, warmup, measured in zip(
            connections, split(options.warmup, connections), split(options.messages, connections), strict=True
        )
    ]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(procs_count)
    results = context.Queue()
    procs = [
        context.Process(target=client_process, args=(share, barrier, results), daemon=True)
        for share in shares
    ]
    started: list[multiprocessing.process.BaseProcess] = []
    try:
        for proc in procs:
            proc.start()
            started.append(proc)
        outcomes = _collect(started, results)
    except BaseException:
        for child in started:
            child.terminate()
        raise
    finally:
        for child in started:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join()
    step = StepResult(
        target.name,
        concurrency,
        PhaseStats.merge([outcome["warmup"] for outcome in outcomes]),
        PhaseStats.merge([outcome["measured"] for outcome in outcomes]),
    )
    if target.database_url is not None:
        step.stored = count_stored(target.database_url, workload.id_prefix, options.channel)
    return step


def count_stored(database_url: str, id_prefix: str, channel: str = "api") -> int:
    """How many of the benchmark's interactions under the prefix the database holds."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    async def count() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                # API ids carry the prefix; Twilio's are SIDs, so their text carries it instead.
                column = "external_message_id" if channel == "api" else "text"
                pattern = id_prefix + "%" if channel == "api" else "%(" + id_prefix + "%"
                query = "SELECT count(*) FROM interactions WHERE channel = :channel AND " + column  # noqa: S608
                result = await connection.execute(
                    text(query + " LIKE :pattern"), {"channel": channel, "pattern": pattern}
                )
                return int(result.scalar_one())
        finally:
            await engine.dispose()

    try:
        return asyncio.run(count())
    except (OSError, SQLAlchemyError) as err:
        raise BenchError(f"cannot count stored messages in {database_url}: {err}") from err


# --- the servers: started as subprocesses, always stopped ---------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _is_ready(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _wait_ready(proc: subprocess.Popen[bytes], name: str, port: int, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not _is_ready("127.0.0.1", port):
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise BenchError(f"{name} not ready after {timeout:.0f} s:\n{_log_tail(log_path)}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_server(
    argv: list[str], env: dict[str, str], log_path: Path, port: int, timeout: float
) -> Iterator[None]:
    """Start a server subprocess logging to log_path, wait for /readyz, stop it on the way out."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, " ".join(argv[1:]), port, timeout, log_path)
            yield
        finally:
            stop(proc)


def server_env(options: Options, port: int, data_dir: Path, database_url: str | None) -> dict[str, str]:
    """This process's environment without any SWITCHBOARD_ setting, plus the benchmark's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SWITCHBOARD_")}
    env |= {
        "SWITCHBOARD_HOST": "127.0.0.1",
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_API_SECRET": options.secret,
        "SWITCHBOARD_TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": options.secret,
        # The ingest path alone; `--hub-env SWITCHBOARD_MODELS=true` adds sentiment and the other model work.
        "SWITCHBOARD_MODELS": "false",
    }
    if database_url is not None:
        env["SWITCHBOARD_DATABASE_URL"] = database_url
    env |= dict(pair.split("=", 1) for pair in options.hub_env)
    return env


@contextlib.contextmanager
def bare_target(options: Options, work_dir: Path) -> Iterator[Target]:
    """The bare handler, started and stopped."""
    port = free_port()
    log_path = work_dir / "bare.log"
    env = server_env(options, port, work_dir, None)
    with running_server([sys.executable, str(BARE_HANDLER)], env, log_path, port, options.start_timeout):
        yield Target("bare", "127.0.0.1", port, log_path=log_path)


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create database sb_bench_<random> next to admin_url's, yield its SQLAlchemy URL, drop it afterwards."""
    import asyncpg

    name = f"sb_bench_{secrets.token_hex(4)}"

    async def execute(statement: str) -> None:
        try:
            connection = await asyncpg.connect(admin_url)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError) as err:
            raise BenchError(f"{statement} through {admin_url}: {err!r}") from err

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        parts = urllib.parse.urlsplit(admin_url)
        yield parts._replace(scheme="postgresql+asyncpg", path=f"/{name}").geturl()
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate(env: dict[str, str], log_path: Path) -> None:
    """Run ``python -m hub migrate`` with the hub's environment."""
    with log_path.open("ab") as log:
        argv = [sys.executable, "-m", "hub", "migrate"]
        done = subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise BenchError(f"hub migrate exited with {done.returncode}:\n{_log_tail(log_path)}")


@contextlib.contextmanager
def hub_target(options: Options, work_dir: Path) -> Iterator[Target]:
    """The hub: the one at --url, or one started on a fresh data dir (and a fresh PostgreSQL database)."""
    if options.url is not None:
        parts = urllib.parse.urlsplit(options.url)
        yield Target("hub", parts.hostname or "127.0.0.1", parts.port or 80, options.database_url)
        return
    with contextlib.ExitStack() as stack:
        database_url = None
        if options.database == "postgresql":
            database_url = stack.enter_context(fresh_postgres_database(options.pg_admin_url))
        data_dir = work_dir / "hub-data"
        data_dir.mkdir()
        port = free_port()
        env = server_env(options, port, data_dir, database_url)
        log_path = work_dir / "hub.log"
        migrate(env, log_path)
        argv = [sys.executable, "-m", "hub", "serve"]
        stack.enter_context(running_server(argv, env, log_path, port, options.start_timeout))
        count_url = database_url or f"sqlite+aiosqlite:///{(data_dir / 'switchboard.db').resolve()}"
        yield Target("hub", "127.0.0.1", port, count_url, log_path)


# --- options, report, main ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Options:
    """The command line, checked."""

    targets: list[str]
    concurrency: list[int]
    messages: int
    seconds: float | None
    warmup: int
    client_procs: int
    senders: int
    database: str
    url: str | None
    database_url: str | None
    pg_admin_url: str
    secret: str
    start_timeout: float
    hub_env: list[str]
    channel: str = "api"

    @property
    def database_label(self) -> str:
        if self.url is not None:
            return "postgresql" if (self.database_url or "").startswith("postgresql") else "sqlite"
        return self.database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="How fast the hub acknowledges API-channel messages, next to a bare aiohttp handler.",
        epilog="See bench/README.md for what is measured and how.",
    )
    add = parser.add_argument
    add("--targets", default="bare,hub", help="comma-separated, of bare and hub (default: bare,hub)")
    add(
        "--channel", choices=sorted(WEBHOOK_PATHS), default="api", help="which webhook to drive (default api)"
    )
    add("--concurrency", type=int, nargs="+", default=[32, 128], help="requests in flight (default: 32 128)")
    add("--messages", type=int, help="messages per step (default 20000; with --seconds, the cap: 40000/s)")
    add("--seconds", type=float, help="measure for this long per step instead of a message count")
    add("--warmup", type=int, default=2000, help="warm-up messages per step, not measured (default 2000)")
    add("--client-procs", type=int, default=2, help="client processes sharing the connections (default 2)")
    add("--senders", type=int, default=3000, help="distinct senders per step (default 3000)")
    add("--database", choices=["sqlite", "postgresql"], default="sqlite", help="for a started hub")
    add(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="asyncpg DSN to create DBs",
    )
    add("--url", help="drive the hub already running here (http://host:port) instead of starting one")
    add("--database-url", help="with --url: the hub's SQLAlchemy database URL, to count what it stored")
    add("--secret", help="API channel secret (default: random; with --url: $SWITCHBOARD_API_SECRET)")
    add("--start-timeout", type=float, default=60.0, help="seconds to wait for /readyz (default 60)")
    add("--hub-env", action="append", default=[], metavar="KEY=VALUE", help="extra setting for a started hub")
    return parser


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read and check the command line."""
    parser = _parser()
    args = parser.parse_args(argv)
    targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    if not targets or set(targets) - {"bare", "hub"}:
        parser.error("--targets takes bare, hub or both")
    if min(args.concurrency) < 1 or min(args.client_procs, args.senders, args.messages or 1) < 1:
        parser.error("--concurrency, --client-procs, --senders and --messages must be positive")
    if args.warmup < 0 or (args.seconds is not None and args.seconds <= 0):
        parser.error("--warmup must not be negative, --seconds must be positive")
    if args.url is not None and args.database_url is None:
        parser.error("--url needs --database-url, to check that every acknowledged message was stored")
    if any("=" not in pair for pair in args.hub_env):
        parser.error("--hub-env takes KEY=VALUE")
    secret = args.secret or (os.environ.get("SWITCHBOARD_API_SECRET") if args.url else None)
    if args.url is not None and not secret:
        parser.error("--url needs --secret or SWITCHBOARD_API_SECRET, the running hub's API secret")
    messages = args.messages or (int(args.seconds * 40_000) if args.seconds else 20_000)
    return Options(
        targets=targets,
        concurrency=args.concurrency,
        messages=messages,
        seconds=args.seconds,
        warmup=args.warmup,
        client_procs=args.client_procs,
        senders=args.senders,
        database=args.database,
        url=args.url,
        database_url=args.database_url,
        pg_admin_url=args.pg_admin_url,
        secret=secret or secrets.token_hex(16),
        start_timeout=args.start_timeout,
        hub_env=args.hub_env,
        channel=args.channel,
    )


def print_step(step: StepResult, options: Options) -> None:
    """One step's numbers, as soon as it has run."""
    measured = step.measured
    print(
        f"{step.target:<4} c={step.concurrency:<4} {measured.acked:>7} acked in {measured.elapsed:6.2f} s"
        f" = {measured.rate:>8.0f} msg/s  p50 {measured.percentile_ms(0.50):7.2f} ms"
        f"  p99 {measured.percentile_ms(0.99):7.2f} ms  errors {step.errors}"
        f"  (client CPU {measured.client_busy:.0%} of its busiest process)",
        flush=True,
    )
    if measured.client_busy > CLIENT_BUSY_WARNING:
        print("     the client itself may be the bottleneck: add --client-procs or use a bigger machine")
    if options.seconds is not None and measured.exhausted:
        print(f"     ran out of the {options.messages} pre-built requests early; raise --messages")
    for sample in step.warmup.samples + measured.samples:
        print(f"     error: {sample}")
    if step.stored is not None:
        verdict = "OK" if step.stored_ok else "MISMATCH"
        print(
            f"     stored {step.stored} vs acked {step.acked} (incl. {step.warmup.acked} warm-up): {verdict}"
        )


def ratio(step: StepResult, steps: Sequence[StepResult]) -> float | None:
    """The step's rate as a percentage of the bare handler's at the same concurrency."""
    for bare in steps:
        if bare.target == "bare" and bare.concurrency == step.concurrency and bare.measured.rate > 0:
            return 100 * step.measured.rate / bare.measured.rate
    return None


def markdown_table(steps: Sequence[StepResult], options: Options, runid: str) -> str:
    """A table for bench/RESULTS.md."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    amount = f"{options.seconds:g} s" if options.seconds is not None else f"{options.messages} msgs"
    hub = f", hub on {options.database_label}" if "hub" in options.targets else ""
    lines = [
        f"Ingest ({options.channel} webhooks), run {runid}, {datetime.date.today().isoformat()}:"
        f" {len(os.sched_getaffinity(0))} CPUs (nproc), Python {sys.version.split()[0]},"
        f" client {loop} x {options.client_procs} procs, {amount} + {options.warmup} warm-up per step,"
        f" {options.senders} senders{hub}",
        "",
        "| target | conc | msg/s | p50 ms | p99 ms | acked | errors | stored = acked | % of bare |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for step in steps:
        measured = step.measured
        stored = (
            "-" if step.stored is None else ("yes" if step.stored_ok else f"NO ({step.stored}/{step.acked})")
        )
        percent = ratio(step, steps) if step.target != "bare" else None
        lines.append(
            f"| {step.target} | {step.concurrency} | {measured.rate:.0f} | {measured.percentile_ms(0.5):.2f}"
            f" | {measured.percentile_ms(0.99):.2f} | {measured.acked} | {step.errors} | {stored}"
            f" | {'-' if percent is None else f'{percent:.0f}%'} |"
        )
    return "\n".join(lines)


def run_target(target: Target, options: Options, runid: str) -> tuple[list[StepResult], bool]:
    """Every concurrency against one target, and whether the run's total stored equals its total acked."""
    steps = []
    for concurrency in options.concurrency:
        steps.append(run_step(target, concurrency, options, runid))
        print_step(steps[-1], options)
    total_ok = True
    if target.database_url is not None:
        total = count_stored(target.database_url, f"bench-{runid}-", options.channel)
        acked = sum(step.acked for step in steps)
        total_ok = total == acked
        print(f"     all steps: stored {total} vs acked {acked}: {'OK' if total_ok else 'MISMATCH'}")
    if target.log_path is not None and any(step.errors for step in steps):
        tail = _log_tail(target.log_path, 20).strip()
        print(f"     last lines of {target.log_path.name}:\n{tail}" if tail else "     (server log is empty)")
    return steps, total_ok


def run(options: Options, runid: str) -> tuple[list[StepResult], bool]:
    """Bare handler first, then the hub, each started (unless --url) and stopped here."""
    steps: list[StepResult] = []
    totals_ok = True
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as work:
        if "bare" in options.targets:
            with bare_target(options, Path(work)) as target:
                steps += run_target(target, options, runid)[0]
        if "hub" in options.targets:
            with hub_target(options, Path(work)) as target:
                hub_steps, totals_ok = run_target(target, options, runid)
                steps += hub_steps
    return steps, totals_ok


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark: exit 0 when every message was acknowledged and stored, 1 if not, 2 on failure."""
    options = parse_options(argv)
    runid = secrets.token_hex(4)
    print(f"run {runid}: message ids bench-{runid}-*, targets {','.join(options.targets)}", flush=True)
    try:
        steps, totals_ok = run(options, runid)
    except BenchError as err:
        print(f"benchmark could not run: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers and client processes stopped", file=sys.stderr)
        return 130
    for step in steps:
        percent = ratio(step, steps) if step.target != "bare" else None
        if percent is not None:
            print(f"{step.target} at c={step.concurrency}: {percent:.0f}% of the bare handler's rate")
    print("\n" + markdown_table(steps, options, runid))
    failed = [step for step in steps if step.errors or not step.stored_ok]
    return 1 if failed or not totals_ok else 0


if __name__ == "__main__":
    sys.exit(main())
