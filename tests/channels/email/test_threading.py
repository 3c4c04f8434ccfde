"""A conversation by email, end to end: the customer writes, an agent replies over SMTP, the customer's
reply joins the conversation through our Message-ID, and a bounce marks our reply failed."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.channels.email.conftest import EmailHub, SmtpServer, StartHub, StartSmtp
from tests.channels.email.mails import CUSTOMER, OURS, mail, multipart, part
from tests.waiting import eventually


async def _reply(email: EmailHub, conversation_id: str, text: str) -> dict[str, Any]:
    path = f"/api/v1/conversations/{conversation_id}/messages"
    response = await email.hub.client.post(path, json={"text": text}, headers=email.hub.auth)
    assert response.status == 202, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _interaction(email: EmailHub, interaction_id: str) -> dict[str, Any] | None:
    for _, interaction in await email.stored():
        if interaction["id"] == interaction_id:
            return interaction
    return None


def _received(server: SmtpServer, count: int = 1) -> Any:
    async def check() -> bool:
        return len(server.received) >= count

    return check


async def _start(start_hub: StartHub, start_smtp: StartSmtp) -> tuple[EmailHub, SmtpServer]:
    server = await start_smtp()
    email = await start_hub(smtp_host="127.0.0.1", smtp_port=str(server.port), smtp_security="none")
    return email, server


async def test_reply_threads_and_the_customers_answer_joins_the_conversation(
    start_hub: StartHub, start_smtp: StartSmtp
) -> None:
    email, server = await _start(start_hub, start_smtp)
    await email.deliver(mail("My invoice is wrong", subject="Invoice 7", message_id="<c1@example.co.il>"))
    [(conversation, _)] = await email.stored()

    queued = await _reply(email, conversation["id"], "We are looking into it.")
    await eventually(_received(server), what="our reply to reach the SMTP server")
    sent = server.received[0].message
    assert sent["In-Reply-To"] == "<c1@example.co.il>"
    assert sent["References"] == "<c1@example.co.il>"
    assert sent["Subject"] == "Re: Invoice 7"
    assert server.received[0].rcpt_tos == [CUSTOMER]
    our_id = str(sent["Message-ID"]).strip().strip("<>")

    async def recorded() -> bool:
        found = await _interaction(email, queued["interaction_id"])
        return found is not None and found["external_message_id"] == our_id

    await eventually(recorded, what="our Message-ID to be stored with the reply")

    # The customer's client keeps only In-Reply-To, and changes the subject: our id still threads it.
    answer = mail(
        "Thanks, it is right now.",
        subject="something else",
        message_id="<c2@example.co.il>",
        headers={"In-Reply-To": f"<{our_id}>"},
    )
    await email.deliver(answer)
    conversations = {c["id"] for c, _ in await email.stored()}
    assert conversations == {conversation["id"]}

    # The next reply names the whole thread, oldest first.
    await _reply(email, conversation["id"], "Glad to hear.")
    await eventually(_received(server, 2), what="the second reply")
    second = server.received[1].message
    assert second["In-Reply-To"] == "<c2@example.co.il>"
    assert second["References"] == f"<c1@example.co.il> <{our_id}> <c2@example.co.il>"


async def test_a_bounce_marks_our_reply_failed_in_its_conversation(
    start_hub: StartHub, start_smtp: StartSmtp
) -> None:
    email, server = await _start(start_hub, start_smtp)
    await email.deliver(mail("Hello", subject="Question", message_id="<q1@example.co.il>"))
    [(conversation, _)] = await email.stored()
    queued = await _reply(email, conversation["id"], "Answer")
    await eventually(_received(server), what="our reply to be sent")
    our_raw = server.received[0].raw

    async def sent() -> bool:
        found = await _interaction(email, queued["interaction_id"])
        return found is not None and found["delivery_status"] == "sent"

    await eventually(sent, what="the reply to be recorded as sent")
    status = (
        "Reporting-MTA: dns; mx.example.co.il\n\nFinal-Recipient: rfc822; dana@example.co.il\n"
        "Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\n"
    )
    bounce = multipart(
        "report",
        [
            part("Delivery failed.", "text/plain"),
            part(status, "message/delivery-status"),
            part(our_raw, "message/rfc822"),
        ],
        params="; report-type=delivery-status",
        headers={
            "From": "MAILER-DAEMON@mx.example.co.il",
            "To": OURS,
            "Subject": "Undelivered Mail Returned to Sender",
            "Message-ID": "<bounce1@mx.example.co.il>",
        },
    )
    assert await email.deliver(bounce) == [250]
    reply = await _interaction(email, queued["interaction_id"])
    assert reply is not None
    assert reply["delivery_status"] == "failed"
    assert reply["delivery_error"] == "dana@example.co.il: smtp; 552 5.2.2 mailbox full"
    # The bounce itself is an event of the customer's own conversation (stored under the address it is
    # about, joined through the reference to our reply), machine mail the bot never answers.
    [bounce_row] = [
        i for _, i in await email.stored() if i["external_message_id"] == "bounce1@mx.example.co.il"
    ]
    assert bounce_row["details"]["machine"] == "bounce"
    assert bounce_row["conversation_id"] == conversation["id"]
    assert (bounce_row["kind"], bounce_row["source_kind"]) == ("status_change", "event")


async def test_an_agents_uploaded_file_goes_out_attached_not_as_a_link(
    start_hub: StartHub, start_smtp: StartSmtp
) -> None:
    email, server = await _start(start_hub, start_smtp)
    await email.deliver(mail("Please send the contract", subject="Contract", message_id="<k1@example.co.il>"))
    [(conversation, _)] = await email.stored()
    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.7 the contract", filename="חוזה.pdf", content_type="application/pdf")
    upload = await email.hub.client.post("/api/v1/media", data=form, headers=email.hub.auth)
    assert upload.status == 201, await upload.text()
    stored_id = (await upload.json())["id"]
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    body = {"text": "Here it is.", "attachments": [{"stored_id": stored_id}]}
    response = await email.hub.client.post(path, json=body, headers=email.hub.auth)
    assert response.status == 202, await response.text()
    await eventually(_received(server), what="the reply with its file")
    sent = server.received[0].message
    [attached] = list(sent.iter_attachments())
    assert attached.get_filename() == "חוזה.pdf" and attached.get_content_type() == "application/pdf"
    assert attached.get_content() == b"%PDF-1.7 the contract"
    text = sent.get_body(preferencelist=("plain",))
    assert text is not None and "/media/" not in text.get_content()  # no link when the file is attached
