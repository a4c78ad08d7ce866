"""Every SQL statement of the outbox.

Readers see an event only once every transaction that could precede it has finished: they read
`xid < pg_snapshot_xmin(pg_current_snapshot())` and move through the stream in (xid, id) order,
so a transaction that committed late can never fall behind a reader's position (docs/outbox.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import OutboxEventType

NOTIFY_CHANNEL = "morket_outbox"


@dataclass(frozen=True)
class Position:
    """A place in the stream: after the event (xid, id). (0, 0) is the beginning."""

    xid: int
    id: int


@dataclass(frozen=True)
class StoredEvent:
    id: int
    xid: int
    workspace_id: uuid.UUID
    table_id: uuid.UUID | None
    event_type: OutboxEventType
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime

    @property
    def position(self) -> Position:
        return Position(self.xid, self.id)


@dataclass(frozen=True)
class Backlog:
    """What is left after a position: the oldest event's time, how many (capped), the server's clock."""

    oldest: datetime | None
    pending: int
    now: datetime


# Counting stops here: the figure feeds a gauge and "is anything left", not an exact total.
BACKLOG_COUNT_CAP = 100_000


# The batch read: the payload as text (decoded with orjson, several times faster than the json
# module that SQLAlchemy's asyncpg codec uses: it was two thirds of the analytics ingest time), and
# `xid` ordered as the column itself, not as the bigint alias, so the (xid, id) index serves it.
_READ_COLUMNS = (
    "id, xid::text::bigint AS xid_number, workspace_id, table_id, event_type, aggregate_id, payload::text, created_at"
)
_TYPES = {member.value: member for member in OutboxEventType}


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID | None,
        event_type: OutboxEventType,
        aggregate_id: str,
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        # The NOTIFY rides in the same statement (one round trip, not two, on every write path):
        # delivered at commit, dropped on rollback; identical ones in a transaction fold into one.
        await self.session.execute(
            text(
                "WITH written AS ("
                "INSERT INTO outbox_events (workspace_id, table_id, event_type, aggregate_id, payload) "
                "SELECT :workspace_id, :table_id, :event_type, :aggregate_id, p "
                "FROM jsonb_array_elements(CAST(:payloads AS jsonb)) AS p) "
                "SELECT pg_notify(:channel, :notified)"
            ),
            {
                "workspace_id": workspace_id,
                "table_id": table_id,
                "event_type": event_type.value,
                "aggregate_id": aggregate_id,
                "payloads": json.dumps(list(payloads), separators=(",", ":"), default=str),
                "channel": NOTIFY_CHANNEL,
                "notified": str(table_id or ""),
            },
        )

    async def read(self, after: Position, limit: int, table_id: uuid.UUID | None = None) -> list[StoredEvent]:
        """Finished events after `after` in (xid, id) order; `table_id` narrows to one table.

        Read on the session's own asyncpg connection (same transaction): a batch is thousands of
        rows, and SQLAlchemy's result rows and json codec cost more than the query itself.
        """
        where = "(xid, id) > ($1::text::xid8, $2) AND xid < pg_snapshot_xmin(pg_current_snapshot())"
        args: list[Any] = [str(after.xid), after.id, limit]
        if table_id is not None:
            where += " AND table_id = $4"
            args.append(table_id)
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(
            f"SELECT {_READ_COLUMNS} FROM outbox_events WHERE {where} "
            "ORDER BY outbox_events.xid, outbox_events.id LIMIT $3",
            *args,
        )
        loads, types = orjson.loads, _TYPES
        return [
            StoredEvent(id, xid, workspace_id, table_id, types[kind], aggregate, loads(payload), created_at)
            for id, xid, workspace_id, table_id, kind, aggregate, payload, created_at in rows
        ]

    async def head(self) -> Position:
        """A position before every event not yet readable: where a new live reader starts."""
        xmin = (await self.session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))).scalar_one()
        return Position(int(xmin) - 1, 2**63 - 1)

    async def position_of(self, event_id: int) -> Position | None:
        row = (
            await self.session.execute(
                text("SELECT xid::text::bigint AS xid FROM outbox_events WHERE id = :id"), {"id": event_id}
            )
        ).first()
        return Position(int(row.xid), event_id) if row else None

    async def lock_consumer(self, name: str) -> Position | None:
        """The consumer's position, locked for this transaction; None when another instance holds it.

        The row is created on a consumer's first batch only: every later batch is one statement
        (a consumer following single edits runs a batch per edit)."""
        position = await self._lock_position(name)
        if position is None:
            created = await self.session.execute(
                text(
                    "INSERT INTO outbox_consumers (name, position_id) VALUES (:name, 0) "
                    "ON CONFLICT (name) DO NOTHING RETURNING 1"
                ),
                {"name": name},
            )
            if created.first() is not None:
                return Position(0, 0)  # ours, locked by the insert
            position = await self._lock_position(name)
        return position

    async def _lock_position(self, name: str) -> Position | None:
        row = (
            await self.session.execute(
                text(
                    "SELECT position_xid::text::bigint AS xid, position_id FROM outbox_consumers "
                    "WHERE name = :name FOR UPDATE SKIP LOCKED"
                ),
                {"name": name},
            )
        ).first()
        return Position(int(row.xid), int(row.position_id)) if row else None

    async def save_consumer(self, name: str, position: Position) -> None:
        await self.session.execute(
            text(
                "UPDATE outbox_consumers SET position_xid = CAST(:xid AS text)::xid8, position_id = :id, "
                "updated_at = now() WHERE name = :name"
            ),
            {"name": name, "xid": str(position.xid), "id": position.id},
        )

    async def consumer_position(self, name: str) -> Position | None:
        row = (
            await self.session.execute(
                text("SELECT position_xid::text::bigint AS xid, position_id FROM outbox_consumers WHERE name = :name"),
                {"name": name},
            )
        ).first()
        return Position(int(row.xid), int(row.position_id)) if row else None

    async def backlog_after(self, position: Position) -> Backlog:
        """The committed events after `position`, readable yet or not (an xid past the snapshot's xmin counts)."""
        row = (
            await self.session.execute(
                text(
                    "SELECT (SELECT created_at FROM outbox_events WHERE (xid, id) > (CAST(:xid AS text)::xid8, :id) "
                    "ORDER BY xid, id LIMIT 1) AS oldest, (SELECT count(*) FROM (SELECT 1 FROM outbox_events "
                    "WHERE (xid, id) > (CAST(:xid AS text)::xid8, :id) LIMIT :cap) s) AS pending, "
                    "clock_timestamp() AS now"
                ),
                {"xid": str(position.xid), "id": position.id, "cap": BACKLOG_COUNT_CAP},
            )
        ).one()
        return Backlog(row.oldest, int(row.pending), row.now)

    async def purge_before(self, before: datetime) -> int:
        """Delete events older than `before` that every consumer has passed."""
        result = await self.session.execute(
            text(
                "DELETE FROM outbox_events e WHERE e.created_at < :before AND NOT EXISTS ("
                "SELECT 1 FROM outbox_consumers c WHERE (c.position_xid, c.position_id) < (e.xid, e.id))"
            ),
            {"before": before},
        )
        return int(getattr(result, "rowcount", 0) or 0)
