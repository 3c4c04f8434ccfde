"""Constants of the email channel (see shared PROVIDERS.md, "Email")."""

from typing import Final

NAME: Final = "email"
ENV_PREFIX: Final = "EMAIL"
ENV_VAR_PREFIX: Final = "SWITCHBOARD_EMAIL_"

RAW_CONTENT_TYPE: Final = "message/rfc822"
ORIGINAL_FILENAME: Final = "original.eml"
"""The whole raw message is attached under this name, so the untrimmed original is always kept."""

HASH_ID_SUFFIX: Final = "@sha256.switchboard.invalid"
"""A message without a Message-ID gets ``<sha256 of its bytes>`` + this as its id (stable on redelivery)."""

SECURITY_TLS: Final = "tls"
SECURITY_STARTTLS: Final = "starttls"
SECURITY_NONE: Final = "none"

DEFAULT_IMAP_PORTS: Final = {SECURITY_TLS: 993, SECURITY_STARTTLS: 143, SECURITY_NONE: 143}
DEFAULT_SMTP_PORTS: Final = {SECURITY_TLS: 465, SECURITY_STARTTLS: 587, SECURITY_NONE: 25}
DEFAULT_IMAP_POLL_S: Final = 60.0
"""How often a server without IDLE is polled, and how long one IDLE lasts before it is renewed."""
IDLE_RENEW_S: Final = 25 * 60.0
"""RFC 2177: servers may drop an IDLE after 30 minutes; renew it before that."""
IMAP_RETRY_S: Final = 5.0
IMAP_FETCH_BATCH: Final = 50
SMTP_TIMEOUT_S: Final = 30.0
RECEIVER_MAX_BYTES: Final = 32 * 1024 * 1024
"""The largest message we take: the receiver refuses bigger ones (552); IMAP keeps them aside unread."""
RECEIVER_CONCURRENCY: Final = 4
"""Messages the SMTP receiver parses and stores at once; further sessions wait in DATA."""
KEPT_HEADER_BYTES: Final = 64 * 1024
"""How much of a too-large message's header IMAP fetches to keep aside (who sent it, its Message-ID)."""
STORE_ATTEMPTS: Final = 3
"""Failures to store the same IMAP message before it is kept aside with the error and passed."""
SMTP_TRY_LATER_TIMES: Final = 3
"""451s answered for the same message before the next failure keeps it aside and answers 250."""
FAILURES_REMEMBERED: Final = 10_000
"""Failure counts kept in memory (the oldest forgotten first), so that senders cannot grow them unbounded."""
INLINE_PARSE_MAX_BYTES: Final = 256 * 1024
"""Larger messages are parsed in a worker thread (the stdlib parser takes ~10 ms per 100 KB)."""

# Machine mail: what ``details["machine"]`` says (the hub's bot never answers such an interaction).
MACHINE_BOUNCE: Final = "bounce"
MACHINE_DELIVERY_REPORT: Final = "delivery_report"
MACHINE_READ_REPORT: Final = "read_report"
MACHINE_COMPLAINT: Final = "complaint"
MACHINE_AUTO_REPLY: Final = "auto_reply"
MACHINE_AUTO_GENERATED: Final = "auto_generated"
MACHINE_LIST: Final = "list"
MACHINE_BULK: Final = "bulk"

# Senders that only machines use (RFC 5321 §4.5.5 bounces come from the null path, the postmaster or
# the MTA's MAILER-DAEMON).
MACHINE_LOCAL_PARTS: Final = frozenset({"mailer-daemon", "postmaster"})

REPLY_PREFIX: Final = "Re: "
REFERENCES_KEEP: Final = 20
"""Most ids our References header carries: the thread's root and the latest ones (RFC 5322 §3.6.4)."""

# Labels seen in the wild that Python's codecs do not know, or that a superset decodes better
# (the WHATWG Encoding Standard's mapping: ISO-8859-8-I is ISO-8859-8, GB2312 is GB18030, ...).
CHARSET_ALIASES: Final = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "logical": "iso-8859-8",
    "visual": "iso-8859-8",
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "iso-8859-9": "windows-1254",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "tis-620": "cp874",
    "utf8": "utf-8",
}
UNDECLARED_CHARSETS: Final = frozenset(
    {"", "us-ascii", "ascii", "ansi_x3.4-1968", "unknown-8bit", "x-unknown", "unknown", "x-user-defined"}
)
