"""Live table events over Server-Sent Events, read from the outbox.

Every API process LISTENs on the outbox channel with one connection of its own; a NOTIFY only
wakes the process's open streams, each of which then reads the outbox from its own position.
The outbox is the source of truth, so a stream on any process sees a change committed by any
other (an edit, an import, the enrichment worker), in order, and resumes after a reconnect from
`Last-Event-ID` (an outbox id). A lost notification costs at most POLL_SECONDS of latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.outbox.repository import NOTIFY_CHANNEL, Position, StoredEvent
from morket.outbox.service import OutboxService

log = logging.getLogger("morket.tables.live")

POLL_SECONDS = 5.0
KEEPALIVE_SECONDS = 15.0
READ_BATCH = 500
EVENT_TOKEN_TTL = timedelta(seconds=60)
_TOKEN_AUDIENCE = "morket-table-events"


class OutboxListener:
    """The process's LISTEN connection; opened on the first stream, closed with the app."""

    def __init__(self, database_url: str) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._waiters: set[asyncio.Event] = set()

    def _notified(self, *_: Any) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def _ensure(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError):
                # Streams still poll; the next subscription tries to listen again.
                log.exception("could not LISTEN on %s", NOTIFY_CHANNEL)
                return
            self._conn = conn

    async def subscribe(self) -> asyncio.Event:
        await self._ensure()
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None


@dataclass(frozen=True)
class EventTokenClaims:
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    table_id: uuid.UUID


def issue_event_token(
    settings: Settings, user_id: uuid.UUID, workspace_id: uuid.UUID, table_id: uuid.UUID
) -> tuple[str, datetime]:
    """A short-lived token for one table's event stream, for EventSource (which cannot send headers)."""
    expires = datetime.now(UTC) + EVENT_TOKEN_TTL
    payload = {
        "sub": str(user_id),
        "ws": str(workspace_id),
        "tbl": str(table_id),
        "exp": int(expires.timestamp()),
        "iss": settings.jwt_issuer,
        "aud": _TOKEN_AUDIENCE,
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256"), expires


def decode_event_token(settings: Settings, token: str) -> EventTokenClaims | None:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=_TOKEN_AUDIENCE,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "ws", "tbl", "exp", "iss", "aud"]},
        )
        return EventTokenClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["ws"]), uuid.UUID(payload["tbl"]))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None


def format_event(event: StoredEvent) -> str:
    data = {
        "id": event.id,
        "type": event.event_type.value,
        "table_id": str(event.table_id) if event.table_id else None,
        "aggregate_id": event.aggregate_id,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }
    return f"id: {event.id}\nevent: {event.event_type.value}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def start_position(sessions: async_sessionmaker[AsyncSession], last_event_id: int | None) -> Position:
    async with sessions() as session:
        outbox = OutboxService(session)
        if last_event_id is not None:
            return await outbox.resume_position(last_event_id)
        return await outbox.head()


async def table_event_stream(
    sessions: async_sessionmaker[AsyncSession],
    listener: OutboxListener,
    table_id: uuid.UUID,
    position: Position,
) -> AsyncIterator[str]:
    """SSE text for one table from `position` on, until the client goes away."""
    waiter = await listener.subscribe()
    last_sent = time.monotonic()
    try:
        yield f"retry: 2000\n: stream of table {table_id}\n\n"
        while True:
            # Clear before reading: a NOTIFY that lands during the read wakes the next wait.
            waiter.clear()
            async with sessions() as session:
                events = await OutboxService(session).read(position, READ_BATCH, table_id)
            if events:
                position = events[-1].position
                yield "".join(format_event(e) for e in events)
                last_sent = time.monotonic()
                if len(events) == READ_BATCH:
                    continue
            try:
                await asyncio.wait_for(waiter.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
    finally:
        listener.unsubscribe(waiter)
