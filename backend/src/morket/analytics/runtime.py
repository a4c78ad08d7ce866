"""The analytics consumer inside the API process (the owner of a chDB path; docs/analytics.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import get_engine
from morket.analytics.ingest import analytics_consumer
from morket.core.config import Settings

log = logging.getLogger("morket.analytics")


class ConsumerTask:
    """Runs the analytics consumer beside the API until closed; failures are logged and retried."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="analytics-consumer")

    async def _run(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                engine = await anyio.to_thread.run_sync(get_engine, self.settings.clickhouse_url)
                await engine.ensure_schema()
                consumer = analytics_consumer(engine, self.sessions, self.settings.analytics_batch_size)
                dsn = self.settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
                await consumer.run(self.stop, listen_dsn=dsn)
                return
            except Exception:
                log.exception("analytics consumer cannot start; retrying in %.0f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
                delay = min(delay * 2, 60.0)

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
