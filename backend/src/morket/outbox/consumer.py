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
        settle_seconds: float = 0.0,
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
        # How long `run` lets events gather after a batch that emptied the backlog: a stream of
        # single edits is then handled a few dozen per transaction, not one each (a batch has a
        # fixed cost of several statements; docs/outbox.md). 0: the next batch at once.
        self.settle_seconds = settle_seconds
        self._backlog = False  # the last batch left events behind (full, or cut by `take`)

    async def run_once(self) -> int:
        """Handle the next batch; returns how many events it handled (0: nothing new, or busy)."""
        async with unit_of_work(self.sessions) as session:
            repo = OutboxRepository(session)
            position = await repo.lock_consumer(self.name)
            if position is None:
                return 0
            events = await repo.read(position, self.batch_size)
            read = len(events)
            if not events:
                self._backlog = False
                return 0
            if self.take is not None:
                events = events[: max(1, self.take(events))]
            self._backlog = read == self.batch_size or len(events) < read
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
                # Cleared before the batch, not after: a NOTIFY that lands while a batch reads
                # must wake the next round, not wait for the poll.
                wake.clear()
                try:
                    handled = await self._catch_up()
                except Exception:
                    log.exception("outbox consumer %s failed; retrying", self.name)
                    handled = 0
                # Events came in: more are likely on their way; let them gather into one batch.
                pause = self.settle_seconds if handled and self.settle_seconds else None
                await _first_of(stop, None if pause else wake, pause or self.poll_seconds)
        finally:
            if conn is not None:
                await conn.close()

    async def _catch_up(self) -> int:
        """Batches back to back while they leave a backlog; the events handled."""
        total = 0
        while handled := await self.run_once():
            total += handled
            if self.settle_seconds and not self._backlog:
                break  # caught up: `run` lets the next events gather
        return total


async def _first_of(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float) -> None:
    """Wait until `stop` (or `wake`, when given) is set, at most `timeout` seconds."""
    waits = {asyncio.ensure_future(stop.wait())}
    if wake is not None:
        waits.add(asyncio.ensure_future(wake.wait()))
    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()
