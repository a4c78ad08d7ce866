"""The search consumer inside the API process: follows the outbox into the index (docs/search.md).

Every API process may run it: the consumer's position row is locked with SKIP LOCKED, so one
process handles each batch and the others find nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.search.indexer import BackendFactory, search_consumer

log = logging.getLogger("morket.search")


class SearchConsumerTask:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], make_backend: BackendFactory
    ) -> None:
        self.settings = settings
        self.consumer = search_consumer(
            sessions, make_backend, settings.search_batch_size, settings.search_settle_seconds
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="search-consumer")

    async def _run(self) -> None:
        dsn = self.settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        delay = 1.0
        while not self.stop.is_set():
            try:
                await self.consumer.run(self.stop, listen_dsn=dsn)
                return
            except Exception:
                log.exception("search consumer cannot start; retrying in %.0f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
                delay = min(delay * 2, 60.0)

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
