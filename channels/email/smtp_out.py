"""Outbound mail over SMTP with aiosmtplib: implicit TLS, STARTTLS or plain, with AUTH when configured."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from channels.email.const import SECURITY_NONE, SECURITY_STARTTLS, SECURITY_TLS, SMTP_TIMEOUT_S
from hub.errors import PermanentSendError, TemporarySendError

__all__ = ["SmtpSender", "tls_context"]


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, or only ``ca_file`` (a private CA) when given."""
    return ssl.create_default_context(cafile=ca_file)


@dataclass(frozen=True, slots=True)
class SmtpSender:
    """Where and how our mail goes out."""

    host: str
    port: int
    security: str
    username: str | None = None
    password: str | None = None
    local_hostname: str | None = None
    ca_file: str | None = None
    timeout: float = SMTP_TIMEOUT_S

    async def send(self, mail: EmailMessage) -> None:
        """Hand ``mail`` to the server; PermanentSendError for a 5xx refusal, TemporarySendError otherwise."""
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                use_tls=self.security == SECURITY_TLS,
                start_tls=self.security == SECURITY_STARTTLS,
                tls_context=tls_context(self.ca_file) if self.security != SECURITY_NONE else None,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [r.code for r in err.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in err.recipients)
            if all(code >= 500 for code in codes):
                raise PermanentSendError(detail, provider_code=str(codes[0])) from err
            raise TemporarySendError(detail, provider_code=str(codes[0])) from err
        except aiosmtplib.SMTPAuthenticationError as err:
            # Wrong credentials are fixed by an operator: keep the mail queued until then.
            raise TemporarySendError(f"SMTP login refused: {err.code} {err.message}") from err
        except aiosmtplib.SMTPResponseException as err:
            detail = f"SMTP server answered {err.code} {err.message}"
            if err.code >= 500:
                raise PermanentSendError(detail, provider_code=str(err.code)) from err
            raise TemporarySendError(detail, provider_code=str(err.code)) from err
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            raise TemporarySendError(f"SMTP server unreachable: {err}") from err
