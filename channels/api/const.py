"""Constants of the generic API channel (see ARCHITECTURE.md, "The API channel")."""

from typing import Final

NAME: Final = "api"
ENV_PREFIX: Final = "API"
SIGNATURE_HEADER: Final = "X-Switchboard-Signature"
SIGNATURE_PREFIX: Final = "sha256="
DEFAULT_ACCOUNT: Final = "default"
MAX_ID_LENGTH: Final = 300
MAX_TEXT_LENGTH: Final = 65_536
MAX_ATTACHMENTS: Final = 20
