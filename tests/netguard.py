"""A pytest plugin that fails any test reaching off this machine: tests run offline.

Loaded from ``tests/conftest.py`` (``pytest_plugins = ["tests.netguard"]``), it patches, for the whole run
(collection included), ``socket.socket.connect``, ``connect_ex`` and ``sendto`` (where asyncio's
``sock_connect`` and every client library end up) and ``socket.getaddrinfo``. Loopback (127.0.0.0/8,
::1, ``localhost``), the unspecified address and Unix sockets are allowed; anything else raises
:class:`NetworkAccessBlocked` naming the address, before a packet or a DNS query leaves.

Code under test may catch that error (a retry loop, a health probe), so each attempt is also recorded and
the test's phase (setup, call or teardown) fails afterwards all the same. A test that provokes a block on
purpose takes the record with the ``netguard`` fixture's :meth:`NetworkGuard.take_violations`.

Not covered: connections made in C without Python's socket module (uvloop's own transports, c-ares).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ["GUARD", "NetworkAccessBlocked", "NetworkGuard", "is_local_address", "is_local_host"]

_LOCAL_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


class NetworkAccessBlocked(RuntimeError):
    """A test tried to reach an address off loopback.

    Deliberately not an ``OSError``: code that handles connection failures must not mistake it for one.
    """


def is_local_host(host: str | bytes | None) -> bool:
    """Whether a host (name or IP literal) stays on this machine without asking DNS."""
    if host is None:
        return True  # getaddrinfo(None, port): the wildcard or loopback, for binding
    if isinstance(host, bytes):
        host = host.decode("idna", errors="replace")
    name = host.strip().lower()
    if name in ("", "*") or name in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])  # drop an IPv6 scope id: "::1%lo"
    except ValueError:
        return False  # some other name: resolving it would already ask DNS
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def is_local_address(family: int, address: Any) -> bool:
    """Whether a socket address of ``family`` is on this machine."""
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
        host = address[0]
        return isinstance(host, (str, bytes)) and is_local_host(host)
    return False


def _describe(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return repr(address)


class NetworkGuard:
    """Patches the socket module while installed; records every blocked attempt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: dict[str, Any] = {}
        self._violations: list[str] = []

    @property
    def installed(self) -> bool:
        """Whether the socket module is patched now."""
        return self._depth > 0

    def install(self) -> None:
        """Patch the socket module (nested calls are counted; the first one patches)."""
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            sock_cls = socket.socket
            for name in ("connect", "connect_ex", "sendto"):
                self._saved[name] = sock_cls.__dict__.get(name)
                setattr(sock_cls, name, self._guarded_method(name, getattr(sock_cls, name)))
            self._saved["getaddrinfo"] = socket.getaddrinfo
            socket.getaddrinfo = self._guarded_getaddrinfo(socket.getaddrinfo)

    def uninstall(self) -> None:
        """Undo one :meth:`install`; the last one restores the socket module."""
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth > 0:
                return
            for name in ("connect", "connect_ex", "sendto"):
                original = self._saved.pop(name)
                if original is None:
                    delattr(socket.socket, name)  # it was inherited from _socket.socket
                else:
                    setattr(socket.socket, name, original)
            socket.getaddrinfo = self._saved.pop("getaddrinfo")

    @contextmanager
    def active(self) -> Iterator[NetworkGuard]:
        """Install for the duration of a ``with`` block (a no-op when already installed)."""
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def take_violations(self) -> list[str]:
        """Return and forget the blocked attempts recorded so far."""
        with self._lock:
            taken, self._violations = self._violations, []
        return taken

    def _block(self, what: str) -> NetworkAccessBlocked:
        message = f"network access off loopback blocked in tests: {what}"
        with self._lock:
            self._violations.append(message)
        return NetworkAccessBlocked(message)

    def _guarded_method(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def guarded(sock: socket.socket, *args: Any) -> Any:
            address = args[-1] if args else None
            if not is_local_address(sock.family, address):
                raise guard._block(f"socket.{name}({_describe(address)})")
            return original(sock, *args)

        guarded.__name__ = guarded.__qualname__ = name
        guarded.__doc__ = f"socket.{name}, allowed only on loopback (tests.netguard)."
        return guarded

    def _guarded_getaddrinfo(self, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def getaddrinfo(host: str | bytes | None, port: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_local_host(host):
                raise guard._block(f"socket.getaddrinfo({host!r}, {port!r})")
            return original(host, port, *args, **kwargs)

        getaddrinfo.__doc__ = "socket.getaddrinfo, allowed only for loopback names (tests.netguard)."
        return getaddrinfo


GUARD = NetworkGuard()


def pytest_configure(config: pytest.Config) -> None:
    """Guard the whole run, collection included."""
    GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    GUARD.uninstall()


def _fail_on_violations(item: pytest.Item, phase: str) -> Generator[None, object, object]:
    GUARD.take_violations()  # stale ones belong to a phase that already reported
    try:
        result = yield
    finally:
        violations = GUARD.take_violations()
    if violations:
        listed = "\n  ".join(dict.fromkeys(violations))
        pytest.fail(f"{item.nodeid} tried to reach the network during {phase}:\n  {listed}", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_violations(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_violations(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fail_on_violations(item, "teardown"))


@pytest.fixture
def netguard() -> Iterator[NetworkGuard]:
    """The installed guard, for tests that provoke a block on purpose (then ``take_violations()``)."""
    with GUARD.active() as guard:
        yield guard
