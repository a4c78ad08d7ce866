"""A generic outbox consumer: a persisted position per name, batch reads, at-least-once delivery.

A module that follows the outbox writes only a handler:

    async def index_rows(events: Sequence[StoredEvent]) -> None: ...
    consumer = OutboxConsumer("search", index_rows, sessions)
    await consumer.run(stop)            # or: await consumer.drain() in a test

The handler runs before the new position is committed, so a crash between the two replays the
batch: handlers must be idempotent (upsert by row id and version). Two instances with the same
name never run a batch at the same time (the position row is locked with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.outbox.repository import NOTIFY_CHANNEL, OutboxRepository, StoredEvent

Handler = Callable[[Sequence[StoredEvent]], Awaitable[None]]
# A handler that writes in the consumer's own transaction: its writes and the new position commit
# together, so a batch's effects happen exactly once (column auto-runs create jobs this way).
SessionHandler = Callable[[AsyncSession, Sequence[StoredEvent]], Awaitable[None]]
log = logging.getLogger("morket.outbox")


class OutboxConsumer:
    def __init__(
        self,
        name: str,
        handler: Handler | None,
        sessions: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        session_handler: SessionHandler | None = None,
        take: Callable[[Sequence[StoredEvent]], int] | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.session_handler = session_handler
        self.sessions = sessions
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        # How many of the events read to handle in this batch (at least one): bounds a batch's
        # work when events differ in size (a bulk event names 1,000 rows, a cell edit one).
        self.take = take

    async def run_once(self) -> int:
        """Handle the next batch; returns how many events it handled (0: nothing new, or busy)."""
        async with unit_of_work(self.sessions) as session:
            repo = OutboxRepository(session)
            position = await repo.lock_consumer(self.name)
            if position is None:
                return 0
            events = await repo.read(position, self.batch_size)
            if not events:
                return 0
            if self.take is not None:
                events = events[: max(1, self.take(events))]
            if self.session_handler is not None:
                await self.session_handler(session, events)
            if self.handler is not None:
                await self.handler(events)
            await repo.save_consumer(self.name, events[-1].position)
            return len(events)

    async def drain(self) -> int:
        """Handle batches until nothing is left; returns the number of events handled."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run(self, stop: asyncio.Event, listen_dsn: str | None = None) -> None:
        """Follow the outbox until `stop` is set: woken by NOTIFY when a DSN is given, else by polling."""
        wake = asyncio.Event()
        conn: asyncpg.Connection | None = None
        if listen_dsn:
            conn = await asyncpg.connect(listen_dsn)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
        try:
            while not stop.is_set():
                # Cleared before the drain, not after: a NOTIFY that lands while the drain reads
                # its last (empty) batch must wake the next round, not wait for the poll.
                wake.clear()
                try:
                    await self.drain()
                except Exception:
                    log.exception("outbox consumer %s failed; retrying", self.name)
                stopped = asyncio.ensure_future(stop.wait())
                woken = asyncio.ensure_future(wake.wait())
                await asyncio.wait({stopped, woken}, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                woken.cancel()
        finally:
            if conn is not None:
                await conn.close()
