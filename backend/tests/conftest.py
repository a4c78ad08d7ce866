"""Shared fixtures: a real PostgreSQL database per test run (migrations applied), the app, a client."""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.app import create_app
from morket.core.config import Settings
from morket.core.db import make_engine, make_sessionmaker
from morket.devstack import database
from morket.devstack.ports import free_port, port_open
from morket.devstack.postgres import PrivatePostgres
from morket.devstack.temporal import TemporalDevServer
from morket.worker import connect

TEST_PG_PORT = 54339
# One chDB path per test process (chDB opens one path per process, and only one process a path).
TEST_CHDB_DIR = tempfile.mkdtemp(prefix="morket-test-chdb-")
atexit.register(shutil.rmtree, TEST_CHDB_DIR, True)


@pytest.fixture(scope="session")
def database_server_url() -> Iterator[str]:
    """A PostgreSQL server: the configured one, the local one on 5432, or a private one we start."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    if port_open("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    root = Path(__file__).resolve().parents[2]
    server = PrivatePostgres(
        root / ".morket" / "test-postgres", TEST_PG_PORT, durable=False, password=secrets.token_urlsafe(24)
    )
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(database_server_url: str) -> Iterator[str]:
    """A fresh database for this run, built by running the migrations."""
    url = database.with_database(database_server_url, f"morket_test_{os.getpid()}_{secrets.token_hex(3)}")
    database.ensure_database(url, drop_first=True)
    database.upgrade(url)
    yield url
    asyncio.run(database.drop_database(url))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "morket_env": "test",
        "jwt_secret": "test-secret-" + "x" * 40,
        "encryption_master_key": "ab" * 32,
        "bcrypt_rounds": 4,
        "rate_limit_auth_per_minute": 100_000,
        "rate_limit_general_per_minute": 1_000_000,
        "cors_origin": "http://localhost:5173",
        # API tests see the API alone, built web app or not; tests/e2e and tests/web pass their own.
        "web_dist_dir": "/nonexistent-web-dist",
        # Analytics on chDB in a temporary directory; tests drain the outbox themselves.
        "clickhouse_url": f"chdb://{TEST_CHDB_DIR}",
        "analytics_consumer": False,
        # Search tests drain the outbox themselves too; the freshness test runs the consumer.
        "search_consumer": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> AsyncIterator[None]:
    """Each test starts from empty tables."""
    yield
    # Background followers of the session-wide worker (auto-run, lookup refresh) may still be
    # writing when a test ends; TRUNCATE then loses a deadlock now and then, so it retries.
    for attempt in range(5):
        try:
            await _truncate_all(engine)
            return
        except DBAPIError as exc:
            if "deadlock detected" not in str(exc) or attempt == 4:
                raise


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        tables = (
            (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        if tables:
            # Ledger tables refuse UPDATE/DELETE by trigger; TRUNCATE is the test-only way out.
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession], clean_db: None) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
        await session.rollback()


@pytest.fixture
async def client(settings: Settings, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    # With the lifespan, as a server runs it: the identity cache is on (and closed afterwards).
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[TemporalDevServer]:
    """One Temporal dev server for the whole run, shared by every directory that needs one
    (enrichment, webhooks, imports): each start costs seconds, and workflows never meet since
    every test uses a task queue of its own."""
    server = TemporalDevServer(port=free_port(), db_file=None)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: TemporalDevServer) -> Client:
    return await connect(make_settings("postgresql://unused/db", temporal_address=temporal_server.address))


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
