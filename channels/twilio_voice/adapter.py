"""Wiring of the Twilio Voice channel: the IVR's webhooks, call callbacks, and the console's call controls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiMapping

from channels._twilio.const import UNKNOWN_ACCOUNT
from channels._twilio.parse import Unparseable
from channels._twilio.signature import form_fields
from channels._twilio.webhook import request_url, verify_request
from channels.twilio_voice.client import TwilioVoiceClient
from channels.twilio_voice.const import (
    ANSWER_TIMEOUT_S,
    DEFAULT_LOCALES,
    DIALED_PATH,
    FEEDBACK_PATH,
    GATHER_PATH,
    PROMPTS,
    QUEUE_PATH,
    RECORDING_PATH,
    STATUS_PATH,
    TRANSCRIPTION_PATH,
    VOICEMAIL_PATH,
    WAIT_PATH,
)
from channels.twilio_voice.controls import (
    agent_target,
    call_sid_of,
    callback_url,
    click_to_call,
    connect_twiml,
    paused_of,
)
from channels.twilio_voice.parse import (
    CallRef,
    call_event,
    call_ref,
    is_resolved,
    parse_dial_result,
    parse_gather,
    parse_incoming_call,
    parse_menu,
    parse_queue_result,
    parse_recording,
    parse_status,
    parse_transcription,
)
from channels.twilio_voice.settings import TwilioVoiceSettings
from channels.twilio_voice.twiml import (
    Speaker,
    answer_twiml,
    empty_twiml,
    enqueue_twiml,
    goodbye_twiml,
    greeting_twiml,
    voicemail_twiml,
    wait_twiml,
)
from hub.contract import Channel, ChannelContext
from hub.errors import ConfigError
from hub.messages import (
    Attachment,
    BotAnswer,
    ExternalIdentity,
    InboundMessage,
    KeptAside,
    MediaContent,
    utcnow,
)

__all__ = ["TwilioVoiceChannel", "TwilioVoiceSettings"]

log = logging.getLogger(__name__)

ENV = "SWITCHBOARD_TWILIO_"
Fields = MultiMapping[str]
Parser = Callable[[Fields, Fields], InboundMessage | None]


@dataclass(frozen=True, slots=True)
class _Webhook:
    """A verified webhook: its body, form fields, our own query parameters, and our public base URL."""

    body: bytes
    fields: MultiDict[str]
    query: Fields
    base: str
    content_type: str


def _twiml(xml: str) -> web.Response:
    return web.Response(text=xml, content_type="text/xml")


class TwilioVoiceChannel(Channel[TwilioVoiceSettings]):
    """Phone calls through Twilio Voice: an IVR in TwiML, a queue for agents, voicemail, click to call."""

    answers_live = True  # the IVR asks the bot itself while the caller waits

    def __init__(self, name: str, settings: TwilioVoiceSettings, context: ChannelContext) -> None:
        super().__init__(name, settings, context)
        language = settings.voice_language.strip().split("-")[0].lower()
        if language not in PROMPTS:
            raise ConfigError(
                f"{ENV}VOICE_LANGUAGE", f"no prompts for {language!r}; use one of {sorted(PROMPTS)}"
            )
        try:
            self.menu = parse_menu(settings.voice_menu)
        except ValueError as err:
            raise ConfigError(f"{ENV}VOICE_MENU", str(err)) from err
        locale = (
            settings.voice_language.strip() if "-" in settings.voice_language else DEFAULT_LOCALES[language]
        )
        self.language = language
        self.speaker = Speaker(locale, settings.voice_tts_voice, PROMPTS[language])
        self._client = TwilioVoiceClient(
            settings.account_sid, settings.auth_token, api_base=settings.api_base
        )

    def webhook_routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post("", self.incoming_call),
            web.post(GATHER_PATH, self.gathered),
            web.post(FEEDBACK_PATH, self.feedback),
            web.post(WAIT_PATH, self.waiting),
            web.post(QUEUE_PATH, self.left_queue),
            web.post(DIALED_PATH, self.dialed),
            web.post(VOICEMAIL_PATH, self.voicemail_left),
            web.post(STATUS_PATH, self.status),
            web.post(RECORDING_PATH, self.recording),
            web.post(TRANSCRIPTION_PATH, self.transcription),
        ]

    # -- the IVR ---------------------------------------------------------------------------------------------

    async def incoming_call(self, request: web.Request) -> web.Response:
        """The number's voice URL: store the call, then greet and ask what it is about."""
        received = await self._receive(request, lambda f, q: parse_incoming_call(f, q, received_at=utcnow()))
        if received is None:
            return _twiml(empty_twiml())
        hook, ref = received
        return _twiml(
            greeting_twiml(
                self.speaker,
                gather_url=self._url(hook.base, GATHER_PATH, ref.identity),
                greeting=self.settings.voice_greeting,
                recording_notice=self.settings.voice_record,
                menu=self.menu,
            )
        )

    async def gathered(self, request: web.Request) -> web.Response:
        """The caller's words or keys: store them; speak the knowledge base's answer, or queue the call."""
        said: list[InboundMessage] = []

        def parse(fields: Fields, query: Fields) -> InboundMessage | None:
            message = parse_gather(fields, query, self.menu, received_at=utcnow())
            said.extend([message] if message is not None else [])
            return message

        received = await self._receive(request, parse)
        if received is None:
            return _twiml(empty_twiml())
        hook, ref = received
        if not said or said[0].text is None:
            return await self._enqueue(hook, ref, reason="no_input")
        answer = await self._answer(said[0].text, ref)
        if answer is None:
            return await self._enqueue(hook, ref, reason="no_bot_answer")
        details = {
            "call_status": "bot_answered",
            "bot_answer": answer.text,
            "bot_confidence": answer.confidence,
            "bot_source": answer.source,
        }
        await self.context.inbox.ingest([call_event(ref, "bot", details, received_at=utcnow())])
        feedback_url = self._url(hook.base, FEEDBACK_PATH, ref.identity)
        return _twiml(answer_twiml(self.speaker, answer.text, feedback_url=feedback_url))

    async def feedback(self, request: web.Request) -> web.Response:
        """After "did that answer your question?": 1 or yes ends the call, anything else queues it."""
        received = await self._receive(request, lambda _f, _q: None)
        if received is None:
            return _twiml(empty_twiml())
        hook, ref = received
        if not is_resolved(hook.fields, self.language):
            return await self._enqueue(hook, ref, reason="bot_answer_not_enough")
        event = call_event(ref, "feedback", {"call_status": "resolved_by_bot"}, received_at=utcnow())
        await self.context.inbox.ingest([event])
        return _twiml(goodbye_twiml(self.speaker))

    async def waiting(self, request: web.Request) -> web.Response:
        """The queue's wait URL, fetched again whenever its TwiML ends: wait message, then ``<Leave/>``."""
        hook = await self._verified(request)
        queue_time = hook.fields.get("QueueTime", "0")
        waited = int(queue_time) if queue_time.isdigit() else 0
        leave_after = self.settings.voice_voicemail_after_s
        return _twiml(wait_twiml(self.speaker, queue_time_s=waited, leave_after_s=leave_after))

    async def left_queue(self, request: web.Request) -> web.Response:
        """The Enqueue action: store how the wait ended; voicemail when the caller left it unanswered."""
        left: list[InboundMessage] = []

        def parse(fields: Fields, query: Fields) -> InboundMessage:
            left.append(parse_queue_result(fields, query, received_at=utcnow()))
            return left[0]

        received = await self._receive(request, parse)
        if received is None or not left or (left[0].details or {}).get("call_status") != "voicemail":
            return _twiml(empty_twiml())
        return _twiml(self._voicemail(*received))

    async def dialed(self, request: web.Request) -> web.Response:
        """The agent's leg ended: store it; voicemail when the agent did not answer."""
        ended: list[InboundMessage] = []

        def parse(fields: Fields, query: Fields) -> InboundMessage:
            ended.append(parse_dial_result(fields, query, received_at=utcnow()))
            return ended[0]

        received = await self._receive(request, parse)
        if received is None or not ended or (ended[0].details or {}).get("call_status") != "voicemail":
            return _twiml(empty_twiml())
        return _twiml(self._voicemail(*received))

    async def voicemail_left(self, request: web.Request) -> web.Response:
        """The Record action: thank the caller (the recording arrives at its own callback)."""
        await self._verified(request)
        return _twiml(goodbye_twiml(self.speaker, "voicemail_thanks"))

    # -- callbacks -------------------------------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.Response:
        """Call status callback: each status its own interaction, with duration and outcome at the end."""
        await self._receive(request, lambda f, q: parse_status(f, q, received_at=utcnow()))
        return _twiml(empty_twiml())

    async def recording(self, request: web.Request) -> web.Response:
        """Recording status callback: the finished recording as an audio attachment."""
        await self._receive(request, lambda f, q: parse_recording(f, q, received_at=utcnow()))
        return _twiml(empty_twiml())

    async def transcription(self, request: web.Request) -> web.Response:
        """Transcription callback: the voicemail's text, as the caller's message."""
        await self._receive(request, lambda f, q: parse_transcription(f, q, received_at=utcnow()))
        return _twiml(empty_twiml())

    # -- helpers ---------------------------------------------------------------------------------------------

    async def _verified(self, request: web.Request) -> _Webhook:
        body = await request.read()
        fields = form_fields(body)
        url = request_url(request, self.context.public_url)
        # Voice webhooks are form bodies: the fields are checked as such, never as a JSON (bodySHA256) body.
        verify_request(request, url=url, fields=fields, credentials=self.settings)
        base = request_url(request, self.context.public_url, path_qs="")
        return _Webhook(body, fields, request.query, base, request.content_type)

    async def _receive(self, request: web.Request, parse: Parser) -> tuple[_Webhook, CallRef] | None:
        """Verify, parse and store (before any TwiML is answered); None when the request was kept aside."""
        hook = await self._verified(request)
        try:
            ref = call_ref(hook.fields, hook.query)
            message = parse(hook.fields, hook.query)
        except Unparseable as err:
            await self._keep_aside(hook, err.reason)
            return None
        if message is not None:
            await self.context.inbox.ingest([message])
        return hook, ref

    async def _keep_aside(self, hook: _Webhook, reason: str) -> None:
        provider_id = hook.fields.get("CallSid") or None
        log.warning("%s: keeping aside %s: %s", self.name, provider_id or "a request", reason)
        account = hook.fields.get("To") or hook.fields.get("AccountSid") or UNKNOWN_ACCOUNT
        item = KeptAside(self.name, account, reason, hook.body, hook.content_type, utcnow(), provider_id)
        await self.context.inbox.keep_aside([item])

    def _url(self, base: str, path: str, identity: ExternalIdentity) -> str:
        return callback_url(base, self.name, path, identity)

    async def _answer(self, question: str, ref: CallRef) -> BotAnswer | None:
        answerer = self.context.answer
        if answerer is None or not self.settings.voice_bot:
            return None
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                answer = await answerer(question, identity=ref.identity, language=self.language)
        except TimeoutError:
            log.warning(
                "%s: no answer for call %s within %s s: queueing", self.name, ref.call_sid, ANSWER_TIMEOUT_S
            )
            return None
        except Exception:  # boundary: a live caller goes to an agent rather than hear an error
            log.exception("%s: the answerer failed for call %s: queueing", self.name, ref.call_sid)
            return None
        return answer if answer is not None and answer.text.strip() else None

    async def _enqueue(self, hook: _Webhook, ref: CallRef, *, reason: str) -> web.Response:
        """Store that the call waits for an agent (the console shows it), then put it in the queue."""
        details = {"call_status": "queued", "queue": self.settings.voice_queue, "reason": reason}
        await self.context.inbox.ingest([call_event(ref, "queued", details, received_at=utcnow())])
        return _twiml(
            enqueue_twiml(
                self.speaker,
                queue=self.settings.voice_queue,
                action_url=self._url(hook.base, QUEUE_PATH, ref.identity),
                wait_url=self._url(hook.base, WAIT_PATH, ref.identity),
            )
        )

    def _voicemail(self, hook: _Webhook, ref: CallRef) -> str:
        # Twilio transcribes <Record> in English only (docs "TwiML Voice: <Record>", transcribe).
        transcribe = self.language == "en"
        return voicemail_twiml(
            self.speaker,
            action_url=self._url(hook.base, VOICEMAIL_PATH, ref.identity),
            recording_callback=self._url(hook.base, RECORDING_PATH, ref.identity),
            transcription_callback=self._url(hook.base, TRANSCRIPTION_PATH, ref.identity)
            if transcribe
            else None,
        )

    # -- the console's controls ------------------------------------------------------------------------------

    async def control(
        self,
        action: str,
        *,
        recipient: ExternalIdentity,
        thread_key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        params = params or {}
        record, public_url = self.settings.voice_record, self.context.public_url
        if action == "connect":
            call_sid = call_sid_of(thread_key)
            target = agent_target(params.get("to"), "to")
            twiml = connect_twiml(self.name, recipient, target, record=record, public_url=public_url)
            return {"call_sid": await self._client.update_call(call_sid, twiml=twiml)}
        if action == "recording":
            paused, call_sid = paused_of(params), call_sid_of(thread_key)
            status = await self._client.set_recording(call_sid, paused=paused)
            return {"call_sid": call_sid, "recording_status": status}
        if action == "call":
            agent = agent_target(params.get("agent"), "agent")
            call = click_to_call(
                self.name,
                recipient,
                agent,
                default_from=self.settings.from_,
                record=record,
                notice=self.speaker,
                public_url=public_url,
            )
            if public_url is None:
                log.warning("%s: SWITCHBOARD_PUBLIC_URL is unset: this call will leave no record", self.name)
            return {"call_sid": await self._client.create_call(**call)}
        return await super().control(action, recipient=recipient, thread_key=thread_key, params=params)

    async def fetch_media(self, attachment: Attachment, *, max_bytes: int) -> MediaContent:
        return await self._client.fetch_media(attachment, max_bytes=max_bytes)

    async def close(self) -> None:
        await self._client.close()
