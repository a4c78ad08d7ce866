"""Every PostgreSQL statement of analytics: ledger capture, dead letters, lag, backfill reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import OutboxEventType
from morket.outbox.repository import NOTIFY_CHANNEL, Position, StoredEvent


@dataclass(frozen=True)
class EventLines:
    """The followed events of one type in a batch: their ids and one JSON object per line."""

    event_type: str
    ids: list[int]
    lines: str


@dataclass(frozen=True)
class LineBatch:
    count: int  # events read, followed or not
    last: Position  # the position after the batch
    groups: list[EventLines]
    more: bool  # the batch was cut (by count or size): more events are probably readable


# The consumer's batch, shaped in PostgreSQL: the next `limit` readable events in (xid, id) order
# (the same rows OutboxRepository.read returns), and per event type the ids and JSON lines of the
# followed ones. One statement, so the batch and its position come from one snapshot; no Python
# object per event (what made the consumer slow: docs/analytics.md, "Ingest"). The line is concatenated
# text: json_build_object costs about twice as much in PostgreSQL.
# A batch is also cut after BATCH_BYTES of payloads (as stored: compressed when large), so a
# backlog of large events (1,000 attempts each) stays far below PostgreSQL's 1 GB per text value.
BATCH_BYTES = 16 * 1024 * 1024
_READ_LINES = """
WITH head AS (
    SELECT id, xid, workspace_id, table_id, event_type, aggregate_id, created_at, payload
    FROM outbox_events
    WHERE (xid, id) > ($1::text::xid8, $2) AND xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY outbox_events.xid, outbox_events.id LIMIT $3
), batch AS (
    SELECT * FROM (
        SELECT head.*, sum(pg_column_size(payload)) OVER (ORDER BY xid, id) - pg_column_size(payload) AS before
        FROM head
    ) sized WHERE before < $5
), last AS (
    SELECT xid::text::bigint AS xid, id FROM batch ORDER BY batch.xid DESC, batch.id DESC LIMIT 1
)
SELECT b.event_type, count(*) AS events,
       array_agg(b.id) FILTER (WHERE b.event_type = ANY($4::text[])) AS ids,
       string_agg('{"event_id":' || b.id || ',"xid":' || b.xid || ',"workspace_id":"' || b.workspace_id
                  || '","table_id":' || coalesce('"' || b.table_id || '"', 'null') || ',"event_type":"' || b.event_type
                  || '","aggregate_id":' || to_json(b.aggregate_id) || ',"created_at":' || to_json(b.created_at)
                  || ',"payload":' || b.payload || '}', E'\\n') FILTER (WHERE b.event_type = ANY($4::text[])) AS lines,
       min(last.xid) AS last_xid, min(last.id) AS last_id, (SELECT count(*) FROM head) AS head
FROM batch b CROSS JOIN last
GROUP BY b.event_type
"""


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read_lines(self, after: Position, limit: int, followed: Sequence[str]) -> LineBatch | None:
        """The next batch after `after` as JSON lines per followed event type; None when none is readable."""
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(_READ_LINES, str(after.xid), after.id, limit, list(followed), BATCH_BYTES)
        if not rows:
            return None
        groups = [EventLines(r["event_type"], r["ids"], r["lines"]) for r in rows if r["ids"]]
        last = Position(int(rows[0]["last_xid"]), int(rows[0]["last_id"]))
        count, head = sum(int(r["events"]) for r in rows), int(rows[0]["head"])
        return LineBatch(count, last, groups, more=head >= limit or head > count)

    async def capture_ledger_rows(self, ids: Sequence[uuid.UUID]) -> None:
        """One outbox event per workspace listing these (flushed) ledger rows, in the caller's transaction."""
        await self.session.execute(
            text(
                "INSERT INTO outbox_events (workspace_id, table_id, event_type, aggregate_id, payload) "
                "SELECT workspace_id, NULL, :event_type, workspace_id::text, jsonb_build_object('rows', "
                "jsonb_agg(jsonb_build_object('seq', seq, 'type', type, 'amount', amount, "
                "'reserved_delta', reserved_delta, 'balance_after', balance_after, 'job_id', job_id, "
                "'field', field, 'key', idempotency_key, 'created_at', created_at) ORDER BY seq)) "
                "FROM credit_transactions WHERE id = ANY(:ids) GROUP BY workspace_id"
            ),
            {"event_type": OutboxEventType.CREDIT_TRANSACTIONS.value, "ids": list(ids)},
        )
        await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})

    # -- dead letters ---------------------------------------------------------------------------

    async def add_dead_letters(self, failed: Sequence[tuple[StoredEvent, str]]) -> None:
        for event, error in failed:
            await self.session.execute(
                text(
                    "INSERT INTO analytics_dead_letters (event_id, xid, workspace_id, event_type, aggregate_id, "
                    "payload, event_created_at, error, failures) VALUES (:event_id, :xid, :workspace_id, "
                    ":event_type, :aggregate_id, CAST(:payload AS jsonb), :created_at, :error, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET error = EXCLUDED.error, "
                    "failures = analytics_dead_letters.failures + 1, updated_at = now()"
                ),
                {
                    "event_id": event.id,
                    "xid": event.xid,
                    "workspace_id": event.workspace_id,
                    "event_type": event.event_type.value,
                    "aggregate_id": event.aggregate_id,
                    "payload": json.dumps(event.payload, default=str),
                    "created_at": event.created_at,
                    "error": error[:2000],
                },
            )

    async def dead_letters(self, limit: int) -> list[StoredEvent]:
        rows = await self.session.execute(
            text(
                "SELECT event_id, xid, workspace_id, event_type, aggregate_id, payload, event_created_at "
                "FROM analytics_dead_letters ORDER BY xid, event_id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ),
            {"limit": limit},
        )
        return [
            StoredEvent(
                id=int(r.event_id),
                xid=int(r.xid),
                workspace_id=r.workspace_id,
                table_id=None,
                event_type=OutboxEventType(r.event_type),
                aggregate_id=r.aggregate_id,
                payload=r.payload if isinstance(r.payload, dict) else json.loads(r.payload),
                created_at=r.event_created_at,
            )
            for r in rows
        ]

    async def remove_dead_letters(self, event_ids: Sequence[int]) -> None:
        await self.session.execute(
            text("DELETE FROM analytics_dead_letters WHERE event_id = ANY(:ids)"), {"ids": list(event_ids)}
        )

    async def dead_letter_count(self) -> int:
        return int((await self.session.execute(text("SELECT count(*) FROM analytics_dead_letters"))).scalar_one())

    # -- backfill -------------------------------------------------------------------------------

    async def lock_position(self, name: str) -> Position | None:
        await self.session.execute(
            text("INSERT INTO outbox_consumers (name, position_id) VALUES (:name, 0) ON CONFLICT (name) DO NOTHING"),
            {"name": name},
        )
        row = (
            await self.session.execute(
                text(
                    "SELECT position_xid::text::bigint AS xid, position_id FROM outbox_consumers "
                    "WHERE name = :name FOR UPDATE NOWAIT"
                ),
                {"name": name},
            )
        ).first()
        return Position(int(row.xid), int(row.position_id)) if row else None

    async def snapshot_xmin(self) -> int:
        return int(
            (await self.session.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))).scalar_one()
        )

    async def backfill_attempts(self, xmin: int, after_id: int, limit: int) -> list[Any]:
        rows = await self.session.execute(
            text(
                "SELECT a.id, r.workspace_id, a.created_at, a.job_id, a.record_id, a.field, a.provider, "
                "a.outcome, a.cost, a.cached, a.duration_ms FROM enrichment_attempts a "
                f"JOIN enrichment_records r ON r.id = a.record_id WHERE a.id > :after AND {_older('a')} "
                "ORDER BY a.id LIMIT :limit"
            ),
            {"after": after_id, "limit": limit, "xmin32": xmin % 2**32},
        )
        return list(rows)

    async def backfill_ledger(self, xmin: int, after_seq: int, limit: int) -> list[Any]:
        rows = await self.session.execute(
            text(
                "SELECT seq, workspace_id, created_at, type, amount, reserved_delta, balance_after, job_id, "
                f"field, idempotency_key FROM credit_transactions t WHERE seq > :after AND {_older('t')} "
                "ORDER BY seq LIMIT :limit"
            ),
            {"after": after_seq, "limit": limit, "xmin32": xmin % 2**32},
        )
        return list(rows)

    async def backfill_scrapes(self, xmin: int, after_id: int, limit: int) -> list[Any]:
        """The scraper's attempts (not answered from the cache), with what the adapter kept of the page."""
        rows = await self.session.execute(
            text(
                "SELECT a.id, r.workspace_id, a.created_at, a.job_id, a.record_id, a.field, a.outcome, a.raw, "
                "a.duration_ms FROM enrichment_attempts a JOIN enrichment_records r ON r.id = a.record_id "
                f"WHERE a.id > :after AND a.provider = 'scraper' AND NOT a.cached AND {_older('a')} "
                "ORDER BY a.id LIMIT :limit"
            ),
            {"after": after_id, "limit": limit, "xmin32": xmin % 2**32},
        )
        return list(rows)

    async def backfill_jobs(self, xmin: int) -> list[Any]:
        rows = await self.session.execute(
            text(
                "SELECT id, workspace_id, created_at, status, record_count, completed_count, failed_count, "
                "cancelled_count, credits_spent, started_at, finished_at, table_id FROM enrichment_jobs j "
                f"WHERE {_older('j')} ORDER BY created_at"
            ),
            {"xmin32": xmin % 2**32},
        )
        return list(rows)

    async def save_position(self, name: str, position: Position) -> None:
        await self.session.execute(
            text(
                "UPDATE outbox_consumers SET position_xid = CAST(:xid AS text)::xid8, position_id = :id, "
                "updated_at = now() WHERE name = :name"
            ),
            {"name": name, "xid": str(position.xid), "id": position.id},
        )


def _older(alias: str) -> str:
    """The row was written by a transaction older than the snapshot's xmin (32-bit xids, modulo 2^32).

    xids 0-2 are special (2 is a frozen row: older than everything)."""
    row = f"{alias}.xmin::text::bigint"
    return f"({row} < 3 OR ((:xmin32 - {row} + 4294967296) % 4294967296) BETWEEN 1 AND 2147483647)"
