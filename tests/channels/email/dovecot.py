"""A real IMAP server for tests: Debian's dovecot, started as a subprocess with a config of its own.

Loopback only, a free port, plaintext login allowed, users in a passwd-file, mail in Maildirs under a
temporary directory; nothing of the system's configuration is read or changed. Given a CA (trustme), it
serves a certificate that CA signs: STARTTLS on the plain port, implicit TLS on a second one. Dovecot
counts a loopback connection as secure and lets it log in without TLS (the helpers here do), so whether a
client used TLS is told by its login line in the server's log (``Dovecot.tls_logins``).
scripts/services.sh installs ``dovecot-imapd``. Without it a test skips, except with CI=true, where it
fails.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import trustme

DOVECOT = os.environ.get("SWITCHBOARD_TEST_DOVECOT", "/usr/sbin/dovecot")
USER = "support@hub.example"
PASSWORD = "imap-test-password"


def require_dovecot() -> str:
    """The dovecot binary; skip (fail with CI=true) when it is not installed."""
    if Path(DOVECOT).is_file():
        return DOVECOT
    message = f"no dovecot at {DOVECOT} (scripts/services.sh installs it: apt-get install dovecot-imapd)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mail_owner() -> tuple[int, int]:
    """Whom mail is accessed as: dovecot refuses root, so as root the ``dovecot`` user, else ourselves."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def _tls_config(root: Path, tls_port: int | None) -> tuple[str, int]:
    """The ``ssl`` settings and the imaps port: no TLS at all, or TLS with the files of _write_tls."""
    if tls_port is None:
        return "ssl = no\n", 0
    return f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n", tls_port


def _config(root: Path, port: int, *, idle: bool, tls_port: int | None) -> str:
    uid, gid = _mail_owner()
    # The auth process reads the passwd-file from the test's private temp directory: it runs as us.
    auth_user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        internal, login = "dovecot", "dovenull"
    else:
        internal = login = auth_user
    capability = "" if idle else "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS\n"
    ssl_settings, imaps_port = _tls_config(root, tls_port)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_settings}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service auth {{
  user = {auth_user}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class Dovecot:
    """A running dovecot and how to reach it."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    tls_port: int | None = None
    """The implicit-TLS (imaps) port; None when the server has no TLS."""

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(self.user, self.password)  # never over TLS, so that its logins are not counted as TLS
        return imap

    def append(self, raw: bytes, mailbox: str = "INBOX", *, internal_date: datetime | None = None) -> None:
        """Store a message as a mail client would (IMAP APPEND), ``internal_date`` as its INTERNALDATE."""
        imap = self.client()
        try:
            when = imaplib.Time2Internaldate(internal_date) if internal_date is not None else None
            status, _ = imap.append(mailbox, None, when, raw)
            assert status == "OK"
        finally:
            imap.logout()

    def recreate_inbox(self) -> None:
        """Empty the mailbox under a new UIDVALIDITY (as when a mailbox is deleted and made again)."""
        imap = self.client()
        try:
            imap.create("Tmp")
            imap.rename("INBOX", "Old")  # dovecot makes a fresh INBOX with a new UIDVALIDITY
        finally:
            imap.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tls_logins(self) -> list[str]:
        """The log's lines of logins made over TLS (dovecot writes them a moment after the login)."""
        return [line for line in self.log().splitlines() if " Login: " in line and ", TLS," in line]

    def unauthenticated_disconnects(self) -> list[str]:
        """The log's lines of connections closed without any LOGIN or AUTHENTICATE having been tried."""
        return [
            line
            for line in self.log().splitlines()
            if "Disconnected: " in line and "(no auth attempts" in line
        ]


@contextmanager
def running_dovecot(*, idle: bool = True, ca: trustme.CA | None = None) -> Iterator[Dovecot]:
    """Start dovecot in the foreground in a temporary directory of its own; stop it and remove it after.

    With ``ca``, TLS is on (``ssl = yes``, imaps on ``tls_port``), with a certificate for 127.0.0.1 that
    ``ca`` signs; without it, the server has no TLS at all (``ssl = no``: no STARTTLS offered).
    """
    binary = require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="sb-dovecot-"))
    try:
        if ca is not None:
            _write_tls(root, ca)
        with _running(binary, root, idle=idle, tls=ca is not None) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _write_tls(root: Path, ca: trustme.CA) -> None:
    """cert.pem (the chain) and key.pem in ``root``, read by dovecot's config process (run as us)."""
    issued = ca.issue_cert("127.0.0.1", "localhost")
    (root / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(root / "key.pem"))
    (root / "key.pem").chmod(0o600)


@contextmanager
def _running(binary: str, root: Path, *, idle: bool, tls: bool) -> Iterator[Dovecot]:
    port = _free_port()
    tls_port = _free_port() if tls else None
    uid, gid = _mail_owner()
    root.chmod(0o755)  # the mail processes run as the mail owner, who must reach mail/ and home/
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("mail", "home"):
        os.chown(root / sub, uid, gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(_config(root, port, idle=idle, tls_port=tls_port))
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stderr=subprocess.PIPE)
    server = Dovecot(root, port, process, tls_port=tls_port)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}\n{server.log()}")
            try:
                server.client().logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
