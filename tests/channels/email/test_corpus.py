"""Every message of ``corpus/email``, delivered over SMTP to the receiver of a started hub.

Each file states its one expected outcome: stored as one interaction with this decoded subject and body
(and, for machine mail, its kind), or kept aside with this reason. A run over the whole corpus in one SMTP
session, with a message the parser cannot handle among them, stores every other message.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from channels.email.const import HASH_ID_SUFFIX
from tests.channels.email.conftest import StartHub
from tests.corpus import CORPUS_DIR, corpus_bytes


@dataclass(frozen=True)
class Stored:
    """One inbound interaction from ``sender`` with this subject and text (``text_starts`` for long ones)."""

    sender: str
    subject: str
    text: str | None = None
    text_starts: str | None = None
    machine: str | None = None
    message_id: str | None = None
    """None: the message has no Message-ID, and gets the hash of its bytes."""


@dataclass(frozen=True)
class KeptAside:
    reason: str


BOUNCE_AOL = "*** ATTENTION ***\n\nYour e-mail is being returned to you because there was a problem with its"
BOUNCE_O365 = (
    "[http://products.office.com/en-us/CMSImages/Office365Logo_Orange.png?version=b8d100a9-0a8b-8e6a-8"
)
BOUNCE_ZED = "This is the mail system at host mail.example.com.\n\nI'm sorry to have to inform you that your"
COMPLAINT = "This is an email abuse report for an email message with the message-id of 20101117174130.28884.5"
LINKS = "Hello Bob,\n\nPlease note that this email contains extremely long links:\n\nhttp://translate.google"
SLEMKO = "Marc Slemko wrote:\n> If you have a real uid of root, then if someone finds something like a\n"
FORWARD = (
    "---------- Forwarded message ----------\nFrom: Hello <hello@example.com>\n"
    "Date: Wed, Feb 9, 2011 at 11:55 AM\nSubject: Fwd: Please forward this email to me"
)

CASES: dict[str, Stored | KeptAside] = {
    "chatwoot_only_html.eml": Stored(
        "tejaswini@ex.com",
        "test html only mail",
        "This is html only mail",
        message_id="6215d71711c38_10bc61914022323@tejaswinis-MacBook-Pro.local.mail",
    ),
    "flanker_8bitmime.eml": Stored(
        "bob@example.com", "2 RCPT MIME", "Превел\n\n123", message_id="1275447987.2063.842.camel@pony"
    ),
    "flanker_apache-message-news-mime.eml": Stored(
        "hartill@lanl.gov",
        "[Fwd: Netscape Enterprise vs. Apache Secure]",
        "Sameer... someone for you to pester...   :-)",
        machine="bulk",
        message_id="31D84948.3641@lanl.gov",
    ),
    "flanker_attached-pdf.eml": KeptAside("no sender address"),
    # A bounce is stored under the customer it is about (its Final-Recipient), not the mail system.
    "flanker_bounce_mailbox-full.eml": Stored(
        "user@aol.com",
        "Undelivered Mail Returned to Sender",
        text_starts=BOUNCE_AOL,
        machine="bounce",
        message_id="20110729080856.AAB7C3800008A@mtain-db01.r1000.mx.aol.com",
    ),
    "flanker_bounce_office365.eml": Stored(
        "noname@example.com",
        "Undeliverable: test_bounce 8",
        text_starts=BOUNCE_O365,
        machine="bounce",
        message_id="2ab24bbc-78da-492a-9f68-438ddae558bb@DB5PR06MB1800.eurprd06.prod.outlook.com",
    ),
    "flanker_bounce_zed.eml": Stored(
        "asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com",
        "Undelivered Mail Returned to Sender",
        text_starts=BOUNCE_ZED,
        machine="bounce",
        message_id="20090708054739.270231E8B13@mail.example.com",
    ),
    "flanker_complaint_aol.eml": Stored(
        "scomp@aol.net",
        "Email Feedback Report for IP 173.193.210.34",
        text_starts=COMPLAINT,
        machine="complaint",
        message_id="201011171502.fa984ce434cc97@omr-m11.mx.aol.com",
    ),
    "flanker_encoded-header.eml": Stored(
        "foo.bar@example.com", "hello", "hello, world", message_id="1234567890-1234-4567@example.com"
    ),
    "flanker_from-encoding.eml": Stored(
        "ingo@blank.pages.de",
        "Re: running server as root (Was: Re: PUT method)",
        text_starts=SLEMKO,
        machine="bulk",
        message_id="33C7E4E1.2A12445E@blank.pages.de",
    ),
    "flanker_mailgun-pic.eml": Stored(
        "hello@example.com",
        "Mailgun rocks!",
        "Мейлган! Хахах!",
        message_id="CAEMTkLZ=3kgop43XWVgYGcerNrqPy7aJHDPK3Sx5yqnVSgEjaA@mail.gmail.com",
    ),
    "flanker_multi-received-headers.eml": Stored(
        "hello@example.com",
        "Fwd: Please forward this email to me",
        text_starts=FORWARD,
        message_id="AANLkTikbSvKnE9RjZLNrpupmNMKChv2Kz8qB3HAagmSw@mail.gmail.com",
    ),
    "flanker_multipart.eml": Stored("administrator@example.com", "Welcome", "Sasha"),
    "flanker_quoted-printable.eml": Stored(
        "bob@example.com",
        "This message contains very long links in html",
        text_starts=LINKS,
        message_id="CAKsfaBUx-V4rGeteUi3mDc_OLv2-2tSp_RGdJ5NtQOpb59dVAg@mail.gmail.com",
    ),
    "flanker_relative.eml": Stored(
        "example@example.com", "Html and text message", "This is html and text message, thanks"
    ),
    "flanker_text-only.eml": Stored(
        "bob@marley.com",
        "Testing message parsing",
        "Hello,\nI'm just testing message parsing\n\nBR,\nBob",
        message_id="CAEAsyCbSF1Bk7CBuu6zp3Qs8=j2iUkNi3dPkGe6z40q4dmaogQ@mail.gmail.com",
    ),
}


def test_every_corpus_file_has_a_case() -> None:
    assert sorted(p.name for p in (CORPUS_DIR / "email").glob("*.eml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_corpus_file_has_its_one_outcome(start_hub: StartHub, name: str) -> None:
    outcome = CASES[name]
    email = await start_hub()
    assert await email.deliver(corpus_bytes("email", name)) == [250]
    stored, kept = await email.stored(), await email.kept()
    if isinstance(outcome, KeptAside):
        assert stored == []
        assert [(k["channel"], k["reason"]) for k in kept] == [("email", outcome.reason)]
        return
    assert kept == []
    [(conversation, interaction)] = stored
    assert (interaction["channel"], interaction["direction"]) == ("email", "in")
    assert interaction["subject"] == outcome.subject == conversation["subject"]
    if outcome.text is not None:
        assert interaction["text"] == outcome.text
    else:
        assert outcome.text_starts is not None and interaction["text"].startswith(outcome.text_starts)
    assert (interaction["details"] or {}).get("machine") == outcome.machine
    if outcome.message_id is None:
        assert interaction["external_message_id"].endswith(HASH_ID_SUFFIX)
    else:
        assert interaction["external_message_id"] == outcome.message_id
    assert interaction["attachments"][-1]["filename"] == "original.eml"
    sender = await email.hub.get_json(f"/api/v1/contacts/{interaction['contact_id']}/360")
    assert outcome.sender in str(sender)


async def test_the_whole_corpus_in_one_session_never_stops_early(start_hub: StartHub) -> None:
    email = await start_hub()
    raws = [corpus_bytes("email", name) for name in sorted(CASES)]
    raws.insert(len(raws) // 2, b"\x00\x01 not mail at all \xff\r\n")
    assert await email.deliver(*raws) == [250] * len(raws)
    stored = await email.stored()
    kept = await email.kept()
    assert len(stored) == sum(isinstance(o, Stored) for o in CASES.values())
    assert sorted(k["reason"] for k in kept) == ["malformed: no headers", "no sender address"]
    # Redelivering the whole run stores nothing twice, hashed ids included.
    await email.deliver(*raws)
    assert len(await email.stored()) == len(stored)
