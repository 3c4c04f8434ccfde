"""The network guard blocks every address off loopback and lets loopback through."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.netguard import GUARD, NetworkAccessBlocked, NetworkGuard, is_local_address, is_local_host

REPO_ROOT = Path(__file__).resolve().parent.parent
# Never a target: the guard must stop these before a packet or a DNS query leaves.
UNROUTABLE = "10.255.255.1"
PUBLIC_NAME = "example.com"


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    """The guard, installed whether or not tests/conftest.py loads the plugin; checked before use."""
    with GUARD.active() as active:
        assert active.installed
        assert socket.socket.connect.__doc__ is not None and "netguard" in socket.socket.connect.__doc__
        yield active
        active.take_violations()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket listening on 127.0.0.1 at a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server


WILDCARD = "0.0.0.0"  # noqa: S104 (only classified here, never bound)


LOCAL_HOSTS = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "::ffff:127.0.0.1",
    "::1%lo",
    "localhost",
    "LOCALHOST.",
    WILDCARD,
]


@pytest.mark.parametrize("host", [*LOCAL_HOSTS, None])
def test_local_hosts_are_allowed(host: str | None) -> None:
    assert is_local_host(host)


@pytest.mark.parametrize("host", [UNROUTABLE, "192.168.1.1", "8.8.8.8", "2001:4860:4860::8888", PUBLIC_NAME])
def test_other_hosts_are_not(host: str) -> None:
    assert not is_local_host(host)


def test_unix_sockets_are_allowed() -> None:
    assert is_local_address(socket.AF_UNIX, "/run/some.sock")
    assert not is_local_address(socket.AF_INET, (UNROUTABLE, 80))


def test_connect_to_unroutable_address_is_blocked(guard: NetworkGuard) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        with pytest.raises(NetworkAccessBlocked, match=f"{UNROUTABLE}:80"):
            sock.connect((UNROUTABLE, 80))
        with pytest.raises(NetworkAccessBlocked, match=f"connect_ex\\({UNROUTABLE}:80\\)"):
            sock.connect_ex((UNROUTABLE, 80))
    assert len(guard.take_violations()) == 2


def test_udp_sendto_off_loopback_is_blocked(guard: NetworkGuard) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(NetworkAccessBlocked, match=f"sendto\\({UNROUTABLE}:53\\)"),
    ):
        sock.sendto(b"x", (UNROUTABLE, 53))
    assert guard.take_violations()


def test_public_name_is_blocked_before_dns(guard: NetworkGuard) -> None:
    with pytest.raises(NetworkAccessBlocked, match=PUBLIC_NAME):
        socket.create_connection((PUBLIC_NAME, 443), timeout=0.5)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkAccessBlocked, match=PUBLIC_NAME),
    ):
        sock.connect((PUBLIC_NAME, 443))  # resolved inside C, so refused by name
    assert len(guard.take_violations()) == 2


async def test_asyncio_connection_is_blocked(guard: NetworkGuard) -> None:
    with pytest.raises(NetworkAccessBlocked, match=f"{UNROUTABLE}:80"):
        await asyncio.wait_for(asyncio.open_connection(UNROUTABLE, 80), timeout=2)
    assert guard.take_violations()


async def test_aiohttp_request_is_blocked(guard: NetworkGuard) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        with pytest.raises((NetworkAccessBlocked, aiohttp.ClientError)):
            await session.get(f"http://{PUBLIC_NAME}/")
    assert any(PUBLIC_NAME in violation for violation in guard.take_violations())


def test_loopback_connection_succeeds(guard: NetworkGuard, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
        accepted, _ = listener.accept()
        with accepted:
            client.sendall(b"ping")
            assert accepted.recv(4) == b"ping"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.connect_ex(("localhost", port)) == 0
    assert guard.take_violations() == []


async def test_asyncio_loopback_and_unix_connections_succeed(guard: NetworkGuard, tmp_path: Path) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(4))
        await writer.drain()
        writer.close()

    tcp = await asyncio.start_server(echo, "127.0.0.1", 0)
    unix = await asyncio.start_unix_server(echo, str(tmp_path / "echo.sock"))
    async with tcp, unix:
        port = tcp.sockets[0].getsockname()[1]
        tcp_client = asyncio.open_connection("localhost", port)
        unix_client = asyncio.open_unix_connection(tmp_path / "echo.sock")
        for opened in (tcp_client, unix_client):
            reader, writer = await opened
            writer.write(b"pong")
            assert await reader.readexactly(4) == b"pong"
            writer.close()
            await writer.wait_closed()
    assert guard.take_violations() == []


def test_guard_is_undone_by_its_last_uninstall() -> None:
    local = NetworkGuard()
    before = (socket.socket.connect, socket.getaddrinfo)
    with local.active(), local.active():
        assert socket.socket.connect is not before[0]
    assert (socket.socket.connect, socket.getaddrinfo) == before


_PLUGIN_CHECK = """
    import socket

    import pytest

    from tests.netguard import GUARD


    def test_swallows_the_error():
        assert GUARD.installed  # without the guard, never try: 10.x is not ours to reach
        try:
            socket.create_connection(("10.255.255.1", 9), timeout=0.5)
        except Exception:
            pass


    def test_loopback_is_fine():
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            socket.create_connection(server.getsockname(), timeout=2).close()
"""


@pytest.mark.slow
def test_plugin_fails_a_test_that_swallows_the_error(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (tmp_path / "test_offline.py").write_text(textwrap.dedent(_PLUGIN_CHECK))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "pytest", "-p", "tests.netguard", "-p", "no:cacheprovider", "-q"]
    proc = subprocess.run(
        [*command, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "1 failed, 1 passed" in output, output
    assert "test_swallows_the_error tried to reach the network during call" in output, output
    assert "socket.getaddrinfo('10.255.255.1', 9)" in output, output
