"""The `morket` command line."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from morket.core.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from morket.outbox.consumer import OutboxConsumer

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Morket: a self-hostable GTM data engine.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")
credentials_app = typer.Typer(no_args_is_help=True, help="The credential vault.")
app.add_typer(credentials_app, name="credentials")
tables_app = typer.Typer(no_args_is_help=True, help="Tables and the outbox.")
app.add_typer(tables_app, name="tables")


def _settings_or_exit() -> None:
    try:
        load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def client(ctx: typer.Context) -> None:
    """The API client (client/, docs/client.md): import FILE --table NAME, run, wait JOB, export, crm-export.

    Needs MORKET_API_KEY (and MORKET_URL unless the API is at http://127.0.0.1:8000).
    """
    from morket_client.cli import main

    raise typer.Exit(main(ctx.args))


@app.command()
def api(
    host: str = "127.0.0.1",
    port: int = typer.Option(None, help="default: $PORT or 8000"),
    workers: int = typer.Option(
        None, min=1, help="processes; default: $API_WORKERS, else one per core in production and 1 otherwise"
    ),
) -> None:
    """Serve the HTTP API (and the built web UI)."""
    import uvicorn

    from morket.core.logging import configure_logging

    _settings_or_exit()
    settings = load_settings()
    configure_logging(settings.log_level)
    processes = workers or api_workers(settings)
    if processes > 1 and not settings.clickhouse_url:
        # One process may open a chDB path (docs/analytics.md): the API's single process owns it.
        typer.echo("analytics on chDB needs a single API process: set CLICKHOUSE_URL or API_WORKERS=1", err=True)
        raise typer.Exit(2)
    uvicorn.run(
        "morket.cli:serve_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=processes,
        log_config=None,
        proxy_headers=False,
        access_log=False,
    )


def api_workers(settings: Settings) -> int:
    # Every piece of shared state (rate limits, sessions, caches) lives in PostgreSQL or Redis,
    # so processes are interchangeable; `make run` (development) keeps a single one.
    if settings.api_workers:
        return settings.api_workers
    return (os.cpu_count() or 1) if settings.morket_env == "production" else 1


def serve_app() -> FastAPI:
    """The app each `morket api` process serves; worker processes set up their own logging."""
    from morket.app import create_app
    from morket.core.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


@app.command()
def openapi(out: str = typer.Option("-", help="file to write, or - for stdout")) -> None:
    """Print the OpenAPI document without a server or a database (the web client is generated from it)."""
    import json

    from morket.app import create_app
    from morket.core.config import Settings

    # Throwaway secrets: building the app needs valid settings, the document depends on none of them.
    settings = Settings(jwt_secret="openapi-" + "x" * 40, encryption_master_key="ab" * 32, morket_env="test")
    text = json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from morket.devstack import database

    url = os.environ.get("DATABASE_URL")
    if not url:
        typer.echo("DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    database.ensure_database(url)
    database.upgrade(url, revision)
    typer.echo(f"database at {revision}")


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo user and workspace used by `make run` (idempotent)."""
    from morket.devstack.seed import seed_demo as run_seed

    _settings_or_exit()
    asyncio.run(run_seed(load_settings()))


@app.command()
def worker() -> None:
    """Run the Temporal worker: enrichment workflows and activities, webhook delivery."""
    from morket.core.logging import configure_logging
    from morket.worker import main

    _settings_or_exit()
    settings = load_settings()
    configure_logging(settings.log_level)
    main(settings)


@app.command()
def sandbox(
    host: str = "127.0.0.1",
    port: int = typer.Option(8010, envvar="SANDBOX_PORT"),
    config: str = typer.Option(None, help="JSON file with a SandboxConfig (api keys, faults)"),
) -> None:
    """Run the provider sandbox: Apollo, Clearbit, Hunter, OpenAI, HubSpot and Salesforce emulated."""
    # Its own package (sandbox/, morket-sandbox), installed for development only: morket never
    # imports it, so a production install does not need it. This process becomes it.
    if importlib.util.find_spec("morket_sandbox") is None:
        typer.echo(
            "the provider sandbox is a development tool (the morket-sandbox package in sandbox/), "
            "not installed here: run `make bootstrap` in a checkout",
            err=True,
        )
        raise typer.Exit(2)
    args = [sys.executable, "-m", "morket_sandbox", "--host", host, "--port", str(port)]
    if config:
        args += ["--config", config]
    os.execv(sys.executable, args)  # noqa: S606 - a fixed interpreter and module, no shell


@app.command()
def scraper(
    host: str = "127.0.0.1",
    port: int = typer.Option(8001, envvar="SCRAPER_PORT"),
) -> None:
    """Run the scraper service (the morket_scraper package; same as `morket-scraper`)."""
    # Its own package and settings (SCRAPER_*): this process becomes it, so signals reach it.
    args = [sys.executable, "-m", "morket_scraper", "--host", host, "--port", str(port)]
    os.execv(sys.executable, args)  # noqa: S606 - a fixed interpreter and module, no shell


@app.command()
def dev(port: int = typer.Option(8000, envvar="PORT")) -> None:
    """Run the whole product locally (what `make run` calls)."""
    from morket.devstack.local import LocalStack

    sys.exit(LocalStack(port=port).run())


@credentials_app.command("rotate-master-key")
def credentials_rotate_master_key(
    batch_size: int = typer.Option(100, min=1, max=10_000, help="credentials per transaction"),
) -> None:
    """Re-encrypt every credential under ENCRYPTION_MASTER_KEY (version ENCRYPTION_KEY_VERSION).

    Older rows must be readable: list their keys in ENCRYPTION_PREVIOUS_KEYS. See docs/credentials.md.
    """
    from morket.credentials.rotation import RotationError, rotate_master_key

    _settings_or_exit()
    settings = load_settings()

    async def run() -> None:
        from morket.core.db import make_engine, make_sessionmaker

        engine = make_engine(settings.database_url, pool_size=2)
        try:
            report = await rotate_master_key(
                make_sessionmaker(engine),
                settings,
                batch_size=batch_size,
                on_batch=lambda n: typer.echo(f"re-encrypted {n} credentials"),
            )
        finally:
            await engine.dispose()
        typer.echo(f"done: {report.rotated} re-encrypted; credentials by key version: {report.by_version}")

    try:
        asyncio.run(run())
    except RotationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@credentials_app.command("key-status")
def credentials_key_status() -> None:
    """How many credentials are sealed under each key version."""
    from morket.credentials.rotation import key_status

    _settings_or_exit()
    settings = load_settings()

    async def run() -> dict[int, int]:
        from morket.core.db import make_engine, make_sessionmaker

        engine = make_engine(settings.database_url, pool_size=1)
        try:
            return await key_status(make_sessionmaker(engine), settings)
        finally:
            await engine.dispose()

    status = asyncio.run(run())
    typer.echo(f"current key version: {settings.encryption_key_version}")
    for version, count in sorted(status.items()):
        typer.echo(f"version {version}: {count} credentials")


@tables_app.command("purge")
def tables_purge(
    outbox_days: int = typer.Option(
        7, min=1, help="also delete outbox events older than this that every consumer passed"
    ),
) -> None:
    """Drop tables deleted more than 30 days ago (rows and all) and old outbox events, and expire
    uploads never committed (IMPORT_UPLOAD_TTL_HOURS). See docs/tables.md and docs/tables-io.md."""
    _settings_or_exit()
    settings = load_settings()

    async def run() -> tuple[int, int, int]:
        from datetime import UTC, datetime, timedelta

        from morket.core.db import make_engine, make_sessionmaker, unit_of_work
        from morket.imports.service import ImportService
        from morket.outbox.service import OutboxService
        from morket.tables.service import TableService

        engine = make_engine(settings.database_url, pool_size=1)
        try:
            sessions = make_sessionmaker(engine)
            async with unit_of_work(sessions) as session:
                tables = await TableService(session).purge_deleted()
            async with unit_of_work(sessions) as session:
                events = await OutboxService(session).purge(datetime.now(UTC) - timedelta(days=outbox_days))
            uploads = 0
            while True:
                async with unit_of_work(sessions) as session:
                    expired = await ImportService(session, settings).expire_uploads()
                uploads += expired
                if expired == 0:
                    break
            return tables, events, uploads
        finally:
            await engine.dispose()

    tables, events, uploads = asyncio.run(run())
    typer.echo(f"purged {tables} deleted tables and {events} outbox events; expired {uploads} uncommitted uploads")


async def _follow_outbox(settings: Settings, consumer: OutboxConsumer) -> None:
    """Run an outbox consumer until SIGINT/SIGTERM, woken by NOTIFY (the `consume` commands)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    await consumer.run(stop, listen_dsn=dsn)


analytics_app = typer.Typer(no_args_is_help=True, help="Analytics on ClickHouse/chDB (docs/analytics.md).")
app.add_typer(analytics_app, name="analytics")


def _analytics_run(job: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run `job(engine, sessions)` against the configured ClickHouse (or chDB) and PostgreSQL."""
    _settings_or_exit()
    settings = load_settings()

    async def run() -> T:
        from morket.analytics.engine import get_engine
        from morket.core.db import make_engine, make_sessionmaker

        engine = make_engine(settings.database_url, pool_size=2)
        try:
            analytics = get_engine(settings.clickhouse_url)
            await analytics.ensure_schema()
            return await job(analytics, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@analytics_app.command("consume")
def analytics_consume() -> None:
    """Follow the outbox into ClickHouse until interrupted (when the API runs with ANALYTICS_CONSUMER=false).

    With chDB this process must be the only one using the path: stop the API first."""
    from morket.analytics.ingest import analytics_consumer

    settings = load_settings()

    async def job(engine: Any, sessions: Any) -> None:
        await _follow_outbox(settings, analytics_consumer(engine, sessions, settings.analytics_batch_size))

    _analytics_run(job)


@analytics_app.command("backfill")
def analytics_backfill() -> None:
    """Rebuild ClickHouse from PostgreSQL (ledger, attempts, jobs) and continue the outbox from there."""
    from morket.analytics.ingest import backfill

    counts = _analytics_run(backfill)
    typer.echo("backfilled " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@analytics_app.command("replay")
def analytics_replay() -> None:
    """Insert the dead-lettered events again; those that go in leave the dead-letter table."""
    from morket.analytics.ingest import replay_dead_letters

    replayed, failing = _analytics_run(replay_dead_letters)
    typer.echo(f"replayed {replayed} events; {failing} still failing")
    if failing:
        raise typer.Exit(1)


@analytics_app.command("lag")
def analytics_lag() -> None:
    """How far the analytics consumer is behind the outbox, and how many events are dead-lettered."""
    from morket.analytics.ingest import consumer_lag

    async def job(_: Any, sessions: Any) -> Any:
        return await consumer_lag(sessions)

    lag = _analytics_run(job)
    typer.echo(f"lag {lag.seconds:.1f} s, {lag.pending_events} events pending, {lag.dead_letters} dead letters")


search_app = typer.Typer(no_args_is_help=True, help="Search (docs/search.md).")
app.add_typer(search_app, name="search")


def _search_run(job: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run `job(sessions, make_backend)` against PostgreSQL and the configured search engine."""
    _settings_or_exit()
    settings = load_settings()

    async def run() -> T:
        from morket.core.db import make_engine, make_sessionmaker
        from morket.search.engine import backend_factory

        engine = make_engine(settings.database_url, pool_size=2)
        try:
            return await job(make_sessionmaker(engine), backend_factory(settings))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@search_app.command("reindex")
def search_reindex(
    workspace: str = typer.Option(None, help="one workspace id; default: every workspace"),
) -> None:
    """Rebuild the index into a new generation and swap it in; searches are served throughout."""
    import uuid

    from sqlalchemy import text

    from morket.search.indexer import reindex_workspace

    try:
        only = uuid.UUID(workspace) if workspace else None
    except ValueError:
        typer.echo(f"not a workspace id: {workspace}", err=True)
        raise typer.Exit(2) from None

    async def job(sessions: Any, make_backend: Any) -> int:
        async with sessions() as session:
            ids = [only] if only else list((await session.execute(text("SELECT id FROM workspaces"))).scalars())
        total = 0
        for workspace_id in ids:
            count = await reindex_workspace(sessions, make_backend, workspace_id)
            typer.echo(f"workspace {workspace_id}: {count} rows indexed")
            total += count
        return total

    _search_run(job)


@search_app.command("consume")
def search_consume() -> None:
    """Follow the outbox into the search index until interrupted (when the API runs with SEARCH_CONSUMER=false)."""
    from morket.search.indexer import search_consumer

    _settings_or_exit()
    settings = load_settings()

    async def job(sessions: Any, make_backend: Any) -> None:
        await _follow_outbox(
            settings,
            search_consumer(sessions, make_backend, settings.search_batch_size, settings.search_settle_seconds),
        )

    _search_run(job)


if __name__ == "__main__":
    app()
