"""The application factory: builds every part from settings and opens/closes them in cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from importlib.resources import files
from typing import Any

from aiohttp import web
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

from crm_core.db import open_database
from hub.answer import HubAnswerer
from hub.api import api_app
from hub.api.messaging import public_media_routes
from hub.assign import AutoAssigner
from hub.broadcast import create_broadcast
from hub.bus import create_bus
from hub.channel_state import HubChannelState
from hub.console_ws import ConsoleFeed
from hub.contract import ChannelContext
from hub.inbox import HubInbox
from hub.keys import (
    ANSWERER,
    ASSIGNER,
    BROADCAST,
    BUS,
    CHANNELS,
    CONSOLE,
    DATABASE,
    INBOX,
    MEDIA,
    METRICS,
    OUTBOX,
    PIPELINE,
    SETTINGS,
    SNOOZE,
    WORKERS,
)
from hub.keys_knowledge import KNOWLEDGE, SUGGESTER
from hub.media import MediaFetcher
from hub.metrics import Metrics
from hub.outbox import Outbox
from hub.pipeline import IngestPipeline
from hub.registry import build_channels
from hub.schema import migrate_all
from hub.settings import HubSettings
from hub.snooze import SnoozeWaker
from hub.web import error_middleware, health_routes

__all__ = ["create_app"]

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024


def create_app(settings: HubSettings, env: Mapping[str, str] | None = None) -> web.Application:
    """Build the hub; nothing connects until the app starts."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app[DATABASE] = open_database(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    app[BUS] = create_bus(settings.redis_url)
    metrics = Metrics()
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=metrics.registry)
    app[METRICS] = metrics
    app[PIPELINE] = IngestPipeline(app[DATABASE], app[BUS], metrics, batch_max=settings.ingest_batch_max)
    app[INBOX] = inbox = HubInbox(app[PIPELINE], app[DATABASE])
    app[BROADCAST] = create_broadcast(settings.redis_url)
    app[ANSWERER] = HubAnswerer()
    context = ChannelContext(
        inbox=inbox, public_url=settings.public_url, broadcast=app[BROADCAST], answer=app[ANSWERER]
    )
    database = app[DATABASE]
    app[CHANNELS] = build_channels(context, env, state_for=lambda name: HubChannelState(database, name))
    enabled = {found.spec.name: found.channel for found in app[CHANNELS] if found.channel is not None}
    inbox.keyword_channels = frozenset(name for name, channel in enabled.items() if channel.keyword_opt_out)
    app[OUTBOX] = Outbox(app[DATABASE], app[PIPELINE], metrics)
    app[OUTBOX].channels = enabled
    inbox.on_keyword = app[OUTBOX].confirm_keyword
    app[MEDIA] = MediaFetcher(
        app[DATABASE],
        app[BUS],
        metrics,
        max_bytes=settings.media_max_bytes,
        types=settings.media_types.split(","),
    )
    app[MEDIA].channels = enabled
    app[SNOOZE] = SnoozeWaker(app[DATABASE], app[PIPELINE])
    app[ASSIGNER] = AutoAssigner(app[DATABASE], app[BUS], app[PIPELINE])
    app[CONSOLE] = feed = ConsoleFeed(app[DATABASE], app[BROADCAST])
    app[PIPELINE].relay.announce = feed.announce
    app[WORKERS] = _workers(app) if settings.models else []

    app.router.add_routes(health_routes())
    # Providers fetch the files agents attach (a random key per file, no sign-in).
    app.router.add_routes(public_media_routes())
    app.router.add_get("/", console_placeholder)
    app.router.add_static("/console/", str(files("hub") / "static" / "console"))
    app.router.add_get("/ws/console", feed.handle)
    app.add_subapp("/api/v1", api_app(app))
    for found in app[CHANNELS]:
        if found.channel is None:
            continue
        webhooks = web.Application()
        webhooks.router.add_routes(found.channel.webhook_routes())
        app.add_subapp(f"/webhooks/{found.spec.name}", webhooks)
        public = found.channel.public_routes()
        if public:
            browser = web.Application()
            browser.router.add_routes(public)
            app.add_subapp(f"/{found.spec.name}", browser)

    app.cleanup_ctx.extend([_database_ctx, _bus_ctx, _pipeline_ctx, _channels_ctx, _outbox_ctx])
    app.on_shutdown.append(_shutdown_channels)
    return app


def _workers(app: web.Application) -> list[Any]:
    """The model-backed parts; imported here so a hub without models never loads torch."""
    from crm_core.sentiment import AlertRule
    from hub.bot import Bot
    from hub.enrich import EnrichmentWorker
    from hub.kb import KnowledgeService
    from hub.models import ModelService
    from hub.suggest import Suggester
    from knowledge.bot import BotPolicy

    settings = app[SETTINGS]
    models = ModelService(settings.model_home or settings.data_dir, settings.encoder_model)
    app[METRICS].encoder_backlog.set_function(lambda: models.backlog)
    app[KNOWLEDGE] = kb = KnowledgeService(app[DATABASE], models)
    suggester = Suggester(app[DATABASE], kb, _generator(settings))
    app[SUGGESTER] = suggester
    channels = frozenset(name.strip() for name in settings.bot_channels.split(",") if name.strip())
    bot = None
    if channels:
        policy = BotPolicy(threshold=settings.bot_threshold, margin=settings.bot_margin)
        enabled = [found for found in app[CHANNELS] if found.channel is not None]
        live = frozenset(found.spec.name for found in enabled if found.channel and found.channel.answers_live)
        bot = Bot(
            app[DATABASE], app[PIPELINE], app[OUTBOX], kb, policy, channels, _generator(settings), live=live
        )
        app[ANSWERER].bot = bot
        # The bot answers first on its (written) channels; round-robin waits for its handover there. A live
        # channel asks the bot itself and queues the customer for people when it declines.
        app[ASSIGNER].bot_channels = channels - live
    rule = AlertRule(threshold=settings.sentiment_threshold, drop=settings.sentiment_drop)
    enrich = EnrichmentWorker(
        app[DATABASE],
        app[BUS],
        app[PIPELINE],
        models,
        rule,
        broadcast=app[BROADCAST],
        suggester=suggester,
        bot=bot,
    )
    # Started in this order, closed in reverse: the model service outlives everything that uses it.
    return [part for part in (models, kb, bot, enrich) if part is not None]


def _generator(settings: HubSettings) -> Any:
    if not settings.llm_base_url or not settings.llm_model:
        return None
    from knowledge.generate import ChatCompletionsClient

    return ChatCompletionsClient(
        settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key, timeout=settings.llm_timeout
    )


async def console_placeholder(_request: web.Request) -> web.Response:
    """The agent console arrives with its own issue; until then, say where the API is."""
    page = files("hub").joinpath("static/index.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html")


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, db = app[SETTINGS], app[DATABASE]
    migrate = settings.is_sqlite if settings.auto_migrate is None else settings.auto_migrate
    if migrate:
        await migrate_all(db.writer)
    yield
    await db.dispose()


async def _bus_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[BUS].close()
    await app[BROADCAST].close()


async def _outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[OUTBOX].start()
    await app[MEDIA].start()
    await app[SNOOZE].start()
    await app[ASSIGNER].start()
    started = []
    try:
        for worker in app[WORKERS]:
            await worker.start()
            started.append(worker)
        yield
    finally:
        for worker in reversed(started):
            await worker.close()
        await app[ASSIGNER].close()
        await app[SNOOZE].close()
        await app[MEDIA].close()
        await app[OUTBOX].close()


async def _pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[PIPELINE].start()
    yield
    await app[PIPELINE].close()


async def _shutdown_channels(app: web.Application) -> None:
    await app[CONSOLE].close()
    for found in app[CHANNELS]:
        if found.channel is not None:
            try:
                await found.channel.shutdown()
            except Exception:  # boundary: one channel must not keep the others from stopping
                log.exception("channel %s failed to shut down", found.channel.name)


async def _channels_ctx(app: web.Application) -> AsyncIterator[None]:
    started = []
    try:
        for found in app[CHANNELS]:
            if found.channel is not None:
                await found.channel.start()
                started.append(found.channel)
        yield
    finally:
        for channel in reversed(started):
            try:
                await channel.close()
            except Exception:  # task boundary: one channel's close must not skip the others
                log.exception("channel %s failed to close", channel.name)
