"""What the phone actions of the console need from the CRM: who to call, and where to put a call through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import table
from crm_core.errors import NotFoundError
from crm_core.models import Agent, Contact, ContactIdentity

__all__ = ["CallNumbers", "agent_phone", "numbers_of"]


@dataclass(frozen=True, slots=True)
class CallNumbers:
    """A contact's phone numbers: the one on the contact first, then its phone-like identities'."""

    contact_id: uuid.UUID
    numbers: tuple[str, ...]
    lines: dict[str, str]
    """For a number the contact called us from: our number (the phone channel's account) they called."""


def _number(external_id: str) -> str | None:
    """An identity's number when it is one (``+9725...``, ``whatsapp:+9725...``)."""
    value = external_id.removeprefix("whatsapp:")
    return value if value.startswith("+") and value[1:].isdigit() else None


async def numbers_of(
    conn: AsyncConnection,
    contact_id: uuid.UUID,
    identity_id: uuid.UUID | None = None,
    *,
    phone_channel: str = "twilio_voice",
) -> CallNumbers:
    """The numbers this contact can be called on (only the given identity's, when one is named)."""
    contacts, ids = table(Contact), table(ContactIdentity)
    phone = (await conn.execute(select(contacts.c.phone).where(contacts.c.id == contact_id))).first()
    if phone is None:
        raise NotFoundError(f"contact {contact_id} not found")
    query = select(ids.c.id, ids.c.channel, ids.c.account, ids.c.external_id).where(
        ids.c.contact_id == contact_id
    )
    if identity_id is not None:
        query = query.where(ids.c.id == identity_id)
    rows = (await conn.execute(query.order_by(ids.c.created_at))).all()
    if identity_id is not None and not rows:
        raise NotFoundError(f"identity {identity_id} is not one of contact {contact_id}'s")
    found = [] if identity_id is not None or not phone.phone else [phone.phone]
    found += [n for row in rows if (n := _number(row.external_id)) is not None]
    lines = {row.external_id: row.account for row in rows if row.channel == phone_channel}
    return CallNumbers(contact_id, tuple(dict.fromkeys(found)), lines)


async def agent_phone(conn: AsyncConnection, agent_id: uuid.UUID) -> str | None:
    """Where calls are put through to this agent (number, ``client:...`` or ``sip:...``), if set."""
    agents = table(Agent)
    return (await conn.execute(select(agents.c.phone).where(agents.c.id == agent_id))).scalar_one_or_none()
