"""Analytics tests: real PostgreSQL and chDB in a temporary directory (one per test process)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import AnalyticsEngine, get_engine
from morket.analytics.ingest import consumer_lag
from morket.analytics.schema import FACT_TABLES, ROLLUP_TABLES
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.outbox.consumer import OutboxConsumer
from tests.credits.conftest import insert_workspace

NewWorkspace = Callable[[], Awaitable[uuid.UUID]]


@pytest.fixture(scope="session")
async def ch(settings: Settings) -> AnalyticsEngine:
    engine = get_engine(settings.clickhouse_url)
    await engine.ensure_schema()
    return engine


@pytest.fixture
async def fresh_ch(ch: AnalyticsEngine, clean_db: None) -> AsyncIterator[AnalyticsEngine]:
    """Empty facts and rollups (clean_db empties PostgreSQL, the outbox and consumer positions too)."""
    for table in (*FACT_TABLES, *ROLLUP_TABLES):
        await ch.command(f"TRUNCATE TABLE {table}")
    yield ch


@pytest.fixture
def new_workspace(sessions: async_sessionmaker[AsyncSession], clean_db: None) -> NewWorkspace:
    async def make() -> uuid.UUID:
        async with unit_of_work(sessions) as session:
            return await insert_workspace(session)

    return make


async def drain_all(consumer: OutboxConsumer, sessions: async_sessionmaker[AsyncSession], timeout: float = 60) -> int:
    """Drain until no event is left after the consumer's position.

    An event is readable only once every older transaction on the (shared) server has finished
    (docs/outbox.md), so one drain() may stop early while another test database's transaction is open.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    handled = await consumer.drain()
    while (await consumer_lag(sessions)).pending_events:
        assert asyncio.get_running_loop().time() < deadline, "the outbox was not drained in time"
        await asyncio.sleep(0.02)
        handled += await consumer.drain()
    return handled
