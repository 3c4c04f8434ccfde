"""Email: IMAP mailboxes (IDLE, with a durable UID checkpoint) and the hub's own SMTP receiver in, SMTP out.

``const.py`` (names), ``decode.py``, ``body.py``, ``htmlbody.py``, ``quotes.py``, ``machine.py`` and
``parse.py`` (pure parsing of raw mail), ``compose.py`` (our outgoing mail, pure), ``imap.py`` (with
``imap_commands.py``), ``receiver.py`` and ``smtp_out.py`` (I/O), ``failures.py`` (counting failed stores),
``adapter.py`` (wiring), and ``CHANNEL`` here. See README.md.
"""

from channels.email.adapter import EmailChannel, EmailSettings
from channels.email.const import ENV_PREFIX, NAME
from hub.contract import ChannelSpec

__all__ = ["CHANNEL", "EmailChannel", "EmailSettings"]

CHANNEL = ChannelSpec(
    name=NAME,
    env_prefix=ENV_PREFIX,
    settings=EmailSettings,
    required=("address",),
    build=EmailChannel,
    summary="Email by IMAP (IDLE) and the hub's SMTP receiver; replies over SMTP",
)
