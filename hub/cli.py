"""The ``switchboard`` command (also ``python -m hub``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from aiohttp import web

from crm_core.accounts import create_agent, create_token
from crm_core.db import Database, open_database
from crm_core.demo import load_demo
from crm_core.models import Role
from hub.app import create_app
from hub.errors import ConfigError
from hub.messages import utcnow
from hub.schema import migrate_all
from hub.settings import HubSettings, load_settings

__all__ = ["main"]

# Names of files in the data directory, not secrets themselves.
DEMO_SECRET_FILE = "demo-api-secret"  # noqa: S105
DEMO_TOKEN_FILE = "demo-token"  # noqa: S105
DEMO_KB = Path(__file__).resolve().parents[1] / "tests" / "data" / "kb"
"""The demo's knowledge base: the evaluation set's, in a source checkout (the project installs editable)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="Omnichannel contact-center hub")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--demo", action="store_true", help="load demo data and print where to sign in")
    serve.add_argument("--host", help="overrides SWITCHBOARD_HOST")
    serve.add_argument("--port", type=int, help="overrides SWITCHBOARD_PORT")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("demo", help="load the demo data set (once)")
    user = commands.add_parser("user", help="manage console users").add_subparsers(
        dest="action", required=True
    )
    create_user = user.add_parser("create", help="create a user")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument(
        "--role", choices=[r.value for r in Role if r is not Role.SERVICE], default="agent"
    )
    create_user.add_argument("--password", help="omit to be asked (or set SWITCHBOARD_NEW_PASSWORD)")
    token = commands.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    create_tok = token.add_parser("create", help="create a bearer token and print it once")
    create_tok.add_argument("--role", choices=[r.value for r in Role], required=True)
    create_tok.add_argument("--name", default="cli")
    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(dest="action", required=True)
    kb_import = kb.add_parser("import", help="import (or update in place) a folder of articles and scripts")
    kb_import.add_argument("path", type=Path, help="a folder with articles/*.md, scripts/*.md, articles.csv")
    return parser


@contextlib.asynccontextmanager
async def _database(settings: HubSettings) -> AsyncIterator[Database]:
    """The configured database, disposed of when the command is done with it."""
    db = open_database(settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        yield db
    finally:
        await db.dispose()


async def _migrate(settings: HubSettings) -> None:
    async with _database(settings) as db:
        await migrate_all(db.writer)


def _data_file(settings: HubSettings, name: str) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / name


async def _demo(settings: HubSettings) -> None:
    """Migrate, load the demo set once, and print where to sign in."""
    await _migrate(settings)
    token_file = _data_file(settings, DEMO_TOKEN_FILE)
    async with _database(settings) as db, db.writer.begin() as conn:
        summary = await load_demo(conn, utcnow())
        if summary.created or not token_file.exists():
            token, _info = await create_token(conn, name="demo", role=Role.ADMIN, now=utcnow())
            token_file.write_text(token)
            token_file.chmod(0o600)
    if settings.models and DEMO_KB.is_dir():
        # The demo answers from the same knowledge base the evaluation uses (tests/data/kb).
        await _kb_import(settings, DEMO_KB, quiet=True)
    print(f"Demo data {'loaded' if summary.created else 'already present'}.")
    print(f"  Sign in as {summary.admin_email} / {summary.admin_password}")
    print(f"  API token (admin): {token_file.read_text().strip()}")


async def _kb_import(settings: HubSettings, path: Path, *, quiet: bool = False) -> int:
    """Import a knowledge-base folder with the hub's own encoder; returns how many items failed."""
    from hub.kb import KnowledgeService
    from hub.models import ModelService
    from knowledge.importer import load_folder

    batch = await asyncio.to_thread(load_folder, path)
    models = ModelService(settings.model_home or settings.data_dir, settings.encoder_model)
    try:
        async with _database(settings) as db:
            if settings.is_sqlite:
                await migrate_all(db.writer)
            report = await KnowledgeService(db, models).import_batch(batch, editor="cli")
    finally:
        await models.close()
    if not quiet or report.failures:
        counts = (len(report.created), len(report.updated), len(report.unchanged))
        print(
            f"knowledge base {path}: %d created, %d updated, %d unchanged," % counts
            + f" {len(report.scripts)} scripts, {len(report.failures)} failed"
        )
    for where, reason in report.failures:
        print(f"  {where}: {reason}", file=sys.stderr)
    return len(report.failures)


def _demo_env(settings: HubSettings) -> dict[str, str]:
    """The demo runs the API channel even without a configured secret: one is made and kept."""
    env = dict(os.environ)
    if not env.get("SWITCHBOARD_API_SECRET"):
        secret_file = _data_file(settings, DEMO_SECRET_FILE)
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(24))
            secret_file.chmod(0o600)
        env["SWITCHBOARD_API_SECRET"] = secret_file.read_text().strip()
        print(f"  API channel secret (demo): {env['SWITCHBOARD_API_SECRET']}  (kept in {secret_file})")
    return env


def _serve(settings: HubSettings, demo: bool) -> None:
    env = None
    if demo:
        asyncio.run(_demo(settings))
        env = _demo_env(settings)
    app = create_app(settings, env)
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host  # noqa: S104
    print(f"Switchboard listening on http://{host}:{settings.port}/", flush=True)
    loop = None
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        pass
    access_log = logging.getLogger("aiohttp.access") if settings.log_level == "DEBUG" else None
    web.run_app(app, host=settings.host, port=settings.port, loop=loop, access_log=access_log, print=None)


async def _create_user(settings: HubSettings, args: argparse.Namespace) -> None:
    password = args.password or os.environ.get("SWITCHBOARD_NEW_PASSWORD") or getpass.getpass("Password: ")
    async with _database(settings) as db, db.writer.begin() as conn:
        agent = await create_agent(
            conn, name=args.name, email=args.email, role=Role(args.role), password=password, now=utcnow()
        )
    print(f"created {agent.role} {agent.email} ({agent.id})")


async def _create_token(settings: HubSettings, args: argparse.Namespace) -> None:
    async with _database(settings) as db, db.writer.begin() as conn:
        token, _info = await create_token(conn, name=args.name, role=Role(args.role), now=utcnow())
    print(token)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` command."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if getattr(args, "host", None) or getattr(args, "port", None) is not None:
            settings = settings.model_copy(
                update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
            )
        if settings.is_sqlite:
            # The embedded default keeps its SQLite file here: every command may be the first to run.
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx (under python-telegram-bot) logs every request URL at INFO, and Telegram's carry the token.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
        if args.command == "serve":
            _serve(settings, args.demo)
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
            print("database is up to date")
        elif args.command == "demo":
            asyncio.run(_demo(settings))
        elif args.command == "user":
            asyncio.run(_create_user(settings, args))
        elif args.command == "token":
            asyncio.run(_create_token(settings, args))
        elif args.command == "kb":
            return 1 if asyncio.run(_kb_import(settings, args.path)) else 0
    except ConfigError as err:
        print(f"switchboard: bad setting {err.detail}", file=sys.stderr)
        return 2
    return 0
