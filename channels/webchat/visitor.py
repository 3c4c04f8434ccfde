"""Who is on the other end of a socket, from the ``hello`` frame: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from channels.webchat.const import NAME, USER_PREFIX, VISITOR_PREFIX
from channels.webchat.parse import Hello, IdentityClaim
from channels.webchat.tokens import issue_token, new_visitor_id, read_token, verify_identity
from hub.errors import Forbidden
from hub.messages import ExternalIdentity, SenderHints

__all__ = ["Visitor", "identify"]


@dataclass(frozen=True, slots=True)
class Visitor:
    """A browser after ``hello``: its visitor id and token, and the identity its messages are stored as."""

    visitor_id: str
    token: str
    identity: ExternalIdentity
    hints: SenderHints
    user: IdentityClaim | None
    page: str | None


def identify(hello: Hello, *, account: str, secret: str, identity_secret: str | None) -> Visitor:
    """Check the token and the signed identity; Unauthorized or Forbidden when either is refused.

    A logged-in customer is ``user:<id>`` with verified hints, so the chat lands on their CRM record; an
    anonymous visitor is ``visitor:<visitor id>``, the same across page loads while the browser keeps
    its token.
    """
    visitor_id = new_visitor_id() if hello.token is None else read_token(secret, account, hello.token)
    claim = hello.identity
    if claim is None:
        identity = ExternalIdentity(NAME, account, VISITOR_PREFIX + visitor_id)
        hints = SenderHints()
    else:
        if identity_secret is None:
            raise Forbidden(
                "signed identities are not enabled on this hub (SWITCHBOARD_WEBCHAT_IDENTITY_SECRET)",
                code="identity_not_enabled",
            )
        verify_identity(identity_secret, claim.user_id, claim.email, claim.signature)
        identity = ExternalIdentity(NAME, account, USER_PREFIX + claim.user_id)
        hints = SenderHints(display_name=claim.name, email=claim.email, verified=True)
    return Visitor(
        visitor_id=visitor_id,
        token=issue_token(secret, account, visitor_id),
        identity=identity,
        hints=hints,
        user=claim,
        page=hello.page,
    )
